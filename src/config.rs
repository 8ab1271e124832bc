//! Configuration shared by the binaries: where the data lives and which database to use.

use std::path::PathBuf;

use clap::Args;

/// Options every binary accepts (also from the environment).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `postgres://…` for production, `sqlite://path` for the embedded engine.
    /// Default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Where the embedded database and generated files live.
    #[arg(long, env = "COMPTOIR_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Where backups and yearly archives are kept (another disk, ideally).
    /// Default: `backups/` in the data directory.
    #[arg(long, env = "COMPTOIR_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,
}

impl Config {
    /// The configured database URL, or the embedded default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("sqlite://{}", self.data_dir.join("comptoir.db").display()),
        }
    }

    /// The configured backup directory, or `backups/` in the data directory.
    pub fn backup_dir(&self) -> PathBuf {
        match &self.backup_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.clone(),
            _ => self.data_dir.join("backups"),
        }
    }

    /// Where the yearly archives are kept: `archives/` in the backup directory.
    pub fn archive_dir(&self) -> PathBuf {
        self.backup_dir().join("archives")
    }
}

/// Parses `250ms`, `10s`, `5m`, `2h`, `1d`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 250ms, 10s, 5m, 2h, 1d)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ))
        }
    };
    if !seconds.is_finite() || !(0.0..=1e10).contains(&seconds) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sqlite_in_data_dir_by_default() {
        let c = Config {
            database_url: None,
            data_dir: PathBuf::from("/var/lib/comptoir"),
            backup_dir: None,
        };
        assert_eq!(c.database_url(), "sqlite:///var/lib/comptoir/comptoir.db");
        let c = Config {
            database_url: Some("postgres://x@h/db".into()),
            ..c
        };
        assert_eq!(c.database_url(), "postgres://x@h/db");
    }
}
