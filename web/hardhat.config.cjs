// The development chain of `npm run stack` (web/stack/dev.mjs): Hardhat's in-process EVM with its
// default test accounts. Nothing is compiled here: the contracts are built by contracts/compile.mjs.
module.exports = {
  networks: { hardhat: { chainId: 31337 } },
};
