//! `.ecluse.toml`: the services and their port formula.

use serde::Deserialize;

/// The parts of `.ecluse.toml` limier uses; unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Config {
    /// container | host | hybrid.
    pub mode: String,
    #[serde(default = "default_max_slots")]
    /// How many sessions can run at once (slots 1 to max_slots).
    pub max_slots: u8,
    /// Spacing between slots' ports; 0 means 1.
    #[serde(default = "default_stride")]
    pub slot_stride: u8,
    #[serde(default = "default_worktree_dir")]
    /// Where worktrees live, relative to the repo root.
    pub worktree_dir: String,
    #[serde(default)]
    /// The services of every session.
    pub services: Vec<Service>,
}

/// One `[[services]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// Its port in slot 0; slot N gets `base_port + N * slot_stride`.
    pub base_port: u16,
    #[serde(default)]
    /// The host port published for a docker service, when it differs.
    pub host_port: Option<u16>,
    #[serde(default)]
    /// How it runs.
    pub run: Run,
    #[serde(default)]
    /// The command ecluse starts (none: a port allocation only).
    pub command: Option<String>,
    #[serde(default)]
    /// More ports, allocated per slot like the base port.
    pub extra_ports: Vec<ExtraPort>,
}

/// How a service runs (`native` or `docker`, in ecluse's files and in
/// limier's JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Run {
    #[default]
    /// A process on the host, started by ecluse.
    Native,
    /// A docker container.
    Docker,
}

/// An `extra_ports` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExtraPort {
    /// The port in slot 0.
    pub base_port: u16,
    /// The environment variable that carries it.
    pub port_env: String,
}

/// Folds a multi-line parser message into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

fn default_max_slots() -> u8 {
    8
}
fn default_stride() -> u8 {
    1
}
fn default_worktree_dir() -> String {
    ".ecluse/worktrees".into()
}

impl Config {
    /// Parses `.ecluse.toml` text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| one_line(e.message()))?;
        if !matches!(config.mode.as_str(), "container" | "host" | "hybrid") {
            return Err(format!(
                "mode {:?} is not container, host or hybrid",
                config.mode
            ));
        }
        Ok(config)
    }

    /// The effective stride (0 means 1).
    pub fn stride(&self) -> u16 {
        u16::from(self.slot_stride.max(1))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Run::Native => "native",
            Run::Docker => "docker",
        })
    }
}

impl Service {
    /// `(host_port or base_port) + slot * stride`, or `None` for a service
    /// with no port (base 0) or a port past 65535.
    pub fn port(&self, slot: u8, stride: u16) -> Option<u16> {
        let base = self.host_port.unwrap_or(self.base_port);
        if base == 0 {
            return None;
        }
        base.checked_add(u16::from(slot).checked_mul(stride)?)
    }

    /// Every extra port for `slot`: `extra.base_port + slot * stride`.
    pub fn extra_ports(&self, slot: u8, stride: u16) -> Vec<u16> {
        self.extra_ports
            .iter()
            .filter_map(|e| {
                e.base_port
                    .checked_add(u16::from(slot).checked_mul(stride)?)
            })
            .collect()
    }

    /// Whether ecluse starts this service (a native service with a command).
    pub fn managed(&self) -> bool {
        self.run == Run::Native && self.command.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
mode = "host"
max_slots = 16
slot_stride = 10
future_key = "ignored"

[[services]]
name = "web"
base_port = 7300
command = "pnpm dev"
extra_ports = [{ base_port = 9200, port_env = "WEB_HMR_PORT" }]

[[services]]
name = "db"
base_port = 5432
host_port = 15432
run = "docker"
"#;

    #[test]
    fn parses_services_and_defaults() {
        let config = Config::parse(CONFIG).unwrap();
        assert_eq!(config.max_slots, 16);
        assert_eq!(config.worktree_dir, ".ecluse/worktrees");
        let web = &config.services[0];
        assert_eq!(web.port(2, config.stride()), Some(7320));
        assert_eq!(web.extra_ports(2, config.stride()), vec![9220]);
        assert!(web.managed());
        let db = &config.services[1];
        assert_eq!(db.run, Run::Docker);
        assert_eq!(
            db.port(1, config.stride()),
            Some(15442),
            "host_port wins over base_port"
        );
        assert!(!db.managed());
    }

    #[test]
    fn stride_zero_means_one_and_defaults_apply() {
        let config = Config::parse("mode = \"hybrid\"\nslot_stride = 0\n").unwrap();
        assert_eq!(config.stride(), 1);
        assert_eq!(config.max_slots, 8);
        assert!(config.services.is_empty());
    }

    #[test]
    fn invalid_configs_are_errors() {
        assert!(Config::parse("").is_err(), "mode is required");
        assert!(Config::parse("mode = \"cloud\"").is_err());
        assert!(Config::parse("mode = \"host\"\nmax_slots = 999").is_err());
        assert!(Config::parse("mode = \"host\"\n[[services]]\nname = \"x\"").is_err());
        assert!(Config::parse("mode = ").is_err());
    }

    #[test]
    fn port_overflow_is_none() {
        let svc = Service {
            name: "x".into(),
            base_port: 65530,
            host_port: None,
            run: Run::Native,
            command: None,
            extra_ports: vec![],
        };
        assert_eq!(svc.port(8, 1), None);
        assert_eq!(svc.port(5, 1), Some(65535));
    }
}
