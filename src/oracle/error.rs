//! Errors of the kernel oracle.
//!
//! Setup problems (not root, no tun, a ruleset `iptables-restore` refuses, a sysctl that cannot
//! be written) end a replay with an [`OracleError`]. Problems with a single frame never do: they
//! become a per-frame note in the outcome.

use std::io;

/// Why a replay could not run (or could not finish).
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// The machine cannot run the oracle: not root, a tool is missing, no tun or netns support.
    #[error("kernel oracle unavailable: {0}")]
    Unavailable(String),

    /// The [`super::OracleConfig`] or replay options are invalid.
    #[error("invalid oracle configuration: {0}")]
    Config(String),

    /// `iptables-restore` / `ip6tables-restore` rejected the ruleset.
    #[error("{tool} rejected the ruleset (exit status {status}): {stderr}")]
    Ruleset {
        tool: String,
        status: String,
        stderr: String,
    },

    /// A helper command used to set up the namespace failed (`ip`, `nft`, `iptables`).
    #[error("namespace setup command `{command}` failed (exit status {status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },

    /// A sysctl could not be set inside the namespace.
    #[error("cannot set sysctl {key}={value} inside the oracle namespace: {source}")]
    Sysctl {
        key: String,
        value: String,
        #[source]
        source: io::Error,
    },

    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },

    /// The oracle thread died unexpectedly (a bug): the message of its panic.
    #[error("kernel oracle thread panicked: {0}")]
    Panicked(String),
}

impl OracleError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        OracleError::Io {
            what: what.into(),
            source,
        }
    }
}
