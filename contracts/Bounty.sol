// SPDX-License-Identifier: MIT OR Apache-2.0
// kerafold bounties: a host pays for a model that reaches an accuracy threshold on a dataset
// published by its IPFS CID; a hunter proves it (Nova, off chain) and claims the reward with a
// Groth16 claim proof that binds the weights encrypted to the host (see src/bounty/claim.rs).
pragma solidity ^0.8.20;

/// The generated Groth16 verifier of the claim circuit (10 public inputs).
interface IClaimVerifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[10] calldata input
    ) external view returns (bool);
}

/// Bounties over one claim circuit. The verifier is fixed when this contract is deployed: the
/// claim circuit depends on the model architecture, so one deployment serves every bounty for
/// one architecture, and no claimant can bring a verifier of their own.
///
/// Flow: `createBounty` (host, with the reward) → `submitClaim` (hunter; the contract assembles
/// the bounty's side of the public inputs itself and binds the claim to `msg.sender`) → the host
/// verifies the Nova accuracy proof off chain (`kerafold verify-claim`) and decrypts the weights,
/// then `approve`s one claim → the approved claimant `withdraw`s. If no claim is approved by the
/// deadline, the host may `refund`.
contract Bounty {
    /// BN254 scalar field modulus.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// Baby Jubjub coefficients (circom form).
    uint256 internal constant BJJ_A = 168700;
    uint256 internal constant BJJ_D = 168696;

    struct BountyInfo {
        address host;
        uint64 threshold;
        uint64 deadline;
        bool approved;
        bool closed;
        uint256 reward;
        uint256 hostX;
        uint256 hostY;
        bytes32 cidDigest;
        uint256 approvedClaim;
    }

    struct ClaimInfo {
        address claimant;
        uint256 hunterX;
        uint256 hunterY;
        uint256 ciphertextHash;
        uint256 ioDigest;
    }

    IClaimVerifier public immutable verifier;
    uint256 public bountyCount;
    mapping(uint256 => BountyInfo) public bounties;
    mapping(uint256 => bytes) public cids;
    mapping(uint256 => ClaimInfo[]) internal claimList;

    event BountyCreated(
        uint256 indexed id,
        address indexed host,
        bytes cid,
        uint64 threshold,
        uint256 hostX,
        uint256 hostY,
        uint256 reward,
        uint64 deadline
    );
    event ClaimSubmitted(
        uint256 indexed id,
        uint256 indexed claim,
        address indexed claimant,
        uint256 hunterX,
        uint256 hunterY,
        uint256 ciphertextHash,
        uint256 ioDigest
    );
    event ClaimApproved(uint256 indexed id, uint256 indexed claim, address claimant);
    event RewardWithdrawn(uint256 indexed id, address indexed claimant, uint256 amount);
    event BountyRefunded(uint256 indexed id, address indexed host, uint256 amount);

    constructor(IClaimVerifier verifier_) {
        verifier = verifier_;
    }

    /// Creates a bounty; the reward is `msg.value`. `cid` is a binary CIDv1 with a 32-byte
    /// SHA-256 multihash: `0x01, codec (0x55 raw or 0x70 dag-pb), 0x12, 0x20, digest[32]`.
    /// `(hostX, hostY)` is the host's Baby Jubjub public key, the weights' recipient.
    function createBounty(bytes calldata cid, uint64 threshold, uint256 hostX, uint256 hostY, uint64 deadline)
        external
        payable
        returns (uint256 id)
    {
        require(msg.value > 0, "no reward");
        require(deadline > block.timestamp, "deadline passed");
        require(
            cid.length == 36 && cid[0] == 0x01 && (cid[1] == 0x55 || cid[1] == 0x70) && cid[2] == 0x12
                && cid[3] == 0x20,
            "not a CIDv1 with a sha2-256 digest"
        );
        require(onCurve(hostX, hostY), "host key is not a Baby Jubjub point");
        id = bountyCount++;
        BountyInfo storage b = bounties[id];
        b.host = msg.sender;
        b.threshold = threshold;
        b.deadline = deadline;
        b.reward = msg.value;
        b.hostX = hostX;
        b.hostY = hostY;
        b.cidDigest = bytes32(cid[4:36]);
        cids[id] = cid;
        emit BountyCreated(id, msg.sender, cid, threshold, hostX, hostY, msg.value, deadline);
    }

    /// Submits a claim. The public inputs are assembled here: the bounty's CID digest, threshold
    /// and host key, and `msg.sender` as the claimant, so a proof only ever counts for the bounty
    /// and the address it was made for (a copied transaction from another sender fails).
    function submitClaim(
        uint256 id,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256 hunterX,
        uint256 hunterY,
        uint256 ciphertextHash,
        uint256 ioDigest
    ) external returns (uint256 claim) {
        BountyInfo storage bo = bounties[id];
        require(bo.host != address(0), "no such bounty");
        require(!bo.approved && !bo.closed, "bounty settled");
        require(block.timestamp <= bo.deadline, "deadline passed");
        uint256[10] memory input;
        input[0] = uint256(bo.cidDigest) >> 128;
        input[1] = uint256(bo.cidDigest) & type(uint128).max;
        input[2] = bo.threshold;
        input[3] = bo.hostX;
        input[4] = bo.hostY;
        input[5] = uint256(uint160(msg.sender));
        input[6] = hunterX;
        input[7] = hunterY;
        input[8] = ciphertextHash;
        input[9] = ioDigest;
        require(verifier.verifyProof(a, b, c, input), "invalid claim proof");
        claim = claimList[id].length;
        claimList[id].push(ClaimInfo(msg.sender, hunterX, hunterY, ciphertextHash, ioDigest));
        emit ClaimSubmitted(id, claim, msg.sender, hunterX, hunterY, ciphertextHash, ioDigest);
    }

    /// The host approves one claim, after checking its Nova accuracy proof (whose public IO has
    /// the claim's `ioDigest`) and decrypting its weights.
    function approve(uint256 id, uint256 claim) external {
        BountyInfo storage bo = bounties[id];
        require(msg.sender == bo.host, "not the host");
        require(!bo.approved && !bo.closed, "bounty settled");
        require(claim < claimList[id].length, "no such claim");
        bo.approved = true;
        bo.approvedClaim = claim;
        emit ClaimApproved(id, claim, claimList[id][claim].claimant);
    }

    /// The approved claimant takes the reward.
    function withdraw(uint256 id) external {
        BountyInfo storage bo = bounties[id];
        require(bo.approved && !bo.closed, "nothing to withdraw");
        require(msg.sender == claimList[id][bo.approvedClaim].claimant, "not the approved claimant");
        bo.closed = true;
        uint256 amount = bo.reward;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
        emit RewardWithdrawn(id, msg.sender, amount);
    }

    /// After the deadline, the host takes back the reward of a bounty with no approved claim.
    function refund(uint256 id) external {
        BountyInfo storage bo = bounties[id];
        require(msg.sender == bo.host, "not the host");
        require(block.timestamp > bo.deadline, "before the deadline");
        require(!bo.approved && !bo.closed, "bounty settled");
        bo.closed = true;
        uint256 amount = bo.reward;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
        emit BountyRefunded(id, msg.sender, amount);
    }

    /// Number of claims on a bounty.
    function claimCount(uint256 id) external view returns (uint256) {
        return claimList[id].length;
    }

    /// One claim.
    function claims(uint256 id, uint256 claim) external view returns (ClaimInfo memory) {
        return claimList[id][claim];
    }

    /// Whether (x, y) is on Baby Jubjub: a·x² + y² = 1 + d·x²·y² (mod r), coordinates below r.
    function onCurve(uint256 x, uint256 y) public pure returns (bool) {
        if (x >= R || y >= R) return false;
        uint256 x2 = mulmod(x, x, R);
        uint256 y2 = mulmod(y, y, R);
        uint256 lhs = addmod(mulmod(BJJ_A, x2, R), y2, R);
        uint256 rhs = addmod(1, mulmod(BJJ_D, mulmod(x2, y2, R), R), R);
        return lhs == rhs;
    }
}
