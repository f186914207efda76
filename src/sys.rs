//! What the process knows about itself and owns: peak memory and CPU time (`getrusage`), for
//! the reports of `prove`, `prove-accuracy` and `bench`, and its standard output. The crate's
//! only `unsafe` code.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};

/// Keeps the process's standard output for reports alone: returns a handle to it and points
/// file descriptor 1 at the null device, so that whatever else writes to stdout is discarded.
/// (halo2curves 0.9, under nova-snark, prints a line per bit to stdout whenever a BN254 G2 point
/// is checked, e.g. while reading powers of tau or a HyperKZG verifier key: hundreds of
/// `true`/`false` lines that would bury the report and break `--json`.) Returns `None`, changing
/// nothing, if the descriptors cannot be duplicated.
pub fn take_stdout() -> Option<File> {
    let _ = std::io::stdout().flush();
    let null = File::options().write(true).open("/dev/null").ok()?;
    // SAFETY: dup and dup2 on the process's own standard descriptors and a descriptor we opened;
    // the duplicate is owned by the returned File alone.
    unsafe {
        let saved = libc::dup(libc::STDOUT_FILENO);
        if saved < 0 {
            return None;
        }
        if libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) < 0 {
            libc::close(saved);
            return None;
        }
        Some(File::from_raw_fd(saved))
    }
}

fn rusage() -> Option<libc::rusage> {
    // SAFETY: getrusage writes into the struct we pass; a zeroed rusage is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } == 0).then_some(u)
}

/// Peak resident set size of this process so far (`ru_maxrss`), MB; 0 if unknown.
pub fn peak_rss_mb() -> f64 {
    let Some(u) = rusage() else { return 0.0 };
    // Linux reports KiB, macOS bytes
    let kib = if cfg!(target_os = "macos") {
        u.ru_maxrss as f64 / 1024.0
    } else {
        u.ru_maxrss as f64
    };
    kib / 1024.0
}

/// CPU time of this process so far (user + system, all threads), seconds; 0 if unknown.
pub fn cpu_seconds() -> f64 {
    let Some(u) = rusage() else { return 0.0 };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_process_has_memory_and_cpu_time() {
        let v: Vec<u8> = vec![1; 1 << 20];
        assert!(super::peak_rss_mb() > 1.0);
        let t0 = super::cpu_seconds();
        let s: u64 = (0..5_000_000u64)
            .map(|i| i ^ v[(i as usize) & 0xfffff] as u64)
            .sum();
        assert!(s > 0 && super::cpu_seconds() >= t0);
    }
}
