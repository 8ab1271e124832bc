//! Command lines of the binaries. The binaries only call `main` here.

pub mod billing;
pub mod jobs;
pub mod web;
mod web_admin;
pub mod worker;

/// Exit codes shared by the commands (also in the README).
pub mod exit {
    /// Everything ran and succeeded.
    pub const OK: u8 = 0;
    /// Some job that ran failed (drain), or a command was refused.
    pub const JOBS_FAILED: u8 = 1;
    /// Bad usage (clap also uses 2).
    pub const USAGE: u8 = 2;
    /// The database or the configuration is not usable.
    pub const UNAVAILABLE: u8 = 3;
    /// Another drain holds the lock (EX_TEMPFAIL): try again later.
    pub const ALREADY_RUNNING: u8 = 75;
}
