//! `quet-server`: the health authority's diagnosis server (see README.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quet_server::{Config, InitOptions};

#[derive(Parser)]
#[command(
    name = "quet-server",
    version,
    about = "Quét diagnosis server (health authority)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new authority: keys, descriptor, database. Prints the fingerprint.
    Init {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// Authority display name.
        #[arg(long, default_value = "Sở Y tế")]
        name: String,
        /// Public base URL.
        #[arg(long, default_value = "https://quet.example")]
        base_url: String,
        /// Authority id (random if omitted).
        #[arg(long)]
        id: Option<u32>,
    },
    /// Serve the API.
    Run(RunArgs),
    /// Write the descriptor and live bulletins as static files.
    Export {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// Output directory.
        #[arg(long)]
        to: PathBuf,
    },
    /// Staff tokens.
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// Ward officers: register and approve venues of one district.
    WardOfficer {
        #[command(subcommand)]
        cmd: WardOfficerCmd,
    },
    /// Signing-key rotation.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Add a staff member; prints their token once.
    Add {
        /// Name.
        name: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Disable a staff member's token.
    Disable {
        /// Name.
        name: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum WardOfficerCmd {
    /// Add a ward officer for one district; prints their token once.
    Add {
        /// Name.
        name: String,
        /// The district they register venues in, e.g. "Hoàn Kiếm".
        #[arg(long)]
        district: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Disable a ward officer's token.
    Disable {
        /// Name.
        name: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Generate a new signing key and announce it in the descriptor (not used yet).
    Announce {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Start signing with an announced key (restart the server afterwards).
    Activate {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// The key id.
        #[arg(long)]
        key_id: u8,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Data directory.
    #[arg(long, env = "QUET_DATA")]
    data: PathBuf,
    /// Listen address.
    #[arg(long, env = "QUET_LISTEN")]
    listen: Option<SocketAddr>,
    /// JSON settings file (flags and env vars override it).
    #[arg(long, env = "QUET_CONFIG")]
    config: Option<PathBuf>,
    /// Seconds between scheduled publications (0 = off).
    #[arg(long, env = "QUET_PUBLISH_INTERVAL")]
    publish_interval: Option<u64>,
    /// Minimum keys per bulletin (decoys fill up).
    #[arg(long, env = "QUET_MIN_BULLETIN_KEYS")]
    min_bulletin_keys: Option<usize>,
    /// Concurrent uploads.
    #[arg(long, env = "QUET_MAX_UPLOADS")]
    max_concurrent_uploads: Option<usize>,
    /// Attempts per IP per minute on public writes.
    #[arg(long, env = "QUET_ATTEMPTS_PER_MINUTE")]
    attempts_per_minute: Option<u32>,
    /// Failed codes before lockout.
    #[arg(long, env = "QUET_FAILURES_BEFORE_LOCKOUT")]
    failures_before_lockout: Option<u32>,
    /// Request timeout, seconds.
    #[arg(long, env = "QUET_REQUEST_TIMEOUT")]
    request_timeout: Option<u64>,
    /// Log format: text or json.
    #[arg(long, env = "QUET_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

fn config_of(a: &RunArgs) -> Result<Config, quet_server::ServerError> {
    let mut c = match &a.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    c.data_dir = a.data.clone();
    if let Some(v) = a.listen {
        c.listen = v;
    }
    if let Some(v) = a.publish_interval {
        c.publish_interval_secs = v;
    }
    if let Some(v) = a.min_bulletin_keys {
        c.min_bulletin_keys = v;
    }
    if let Some(v) = a.max_concurrent_uploads {
        c.max_concurrent_uploads = v;
    }
    if let Some(v) = a.attempts_per_minute {
        c.attempts_per_minute = v;
    }
    if let Some(v) = a.failures_before_lockout {
        c.failures_before_lockout = v;
    }
    if let Some(v) = a.request_timeout {
        c.request_timeout_secs = v;
    }
    Ok(c)
}

fn run(cli: Cli) -> Result<(), quet_server::ServerError> {
    match cli.cmd {
        Cmd::Init {
            data,
            name,
            base_url,
            id,
        } => {
            let r = quet_server::init_authority(&InitOptions {
                data_dir: data,
                name,
                base_url,
                id,
            })?;
            println!("authority {:08x}", r.id);
            println!("fingerprint {}", r.fingerprint);
        }
        Cmd::Run(args) => {
            init_logging(&args.log_format);
            let config = config_of(&args)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| quet_server::ServerError::Io("runtime".into(), e))?;
            rt.block_on(async {
                let server = quet_server::start(config, true).await?;
                // Tests and scripts read this line to learn the port.
                println!("listening on {}", server.addr());
                server.wait().await
            })?;
        }
        Cmd::Export { data, to } => {
            let r = quet_server::export(&data, &to, quet_server::db::now())?;
            println!(
                "exported {} bulletins, removed {} stale files",
                r.bulletins.len(),
                r.removed
            );
        }
        Cmd::Staff {
            cmd: StaffCmd::Add { name, data },
        } => {
            let token = quet_server::add_staff(&data, &name)?;
            println!("{token}");
        }
        Cmd::Staff {
            cmd: StaffCmd::Disable { name, data },
        } => {
            quet_server::disable_staff(&data, &name)?;
        }
        Cmd::WardOfficer {
            cmd:
                WardOfficerCmd::Add {
                    name,
                    district,
                    data,
                },
        } => {
            let token = quet_server::add_ward_officer(&data, &name, &district)?;
            println!("{token}");
        }
        Cmd::WardOfficer {
            cmd: WardOfficerCmd::Disable { name, data },
        } => {
            quet_server::disable_ward_officer(&data, &name)?;
        }
        Cmd::Keys {
            cmd: KeysCmd::Announce { data },
        } => {
            let id = quet_server::announce_signing_key(&data)?;
            println!("announced signing key {id}");
        }
        Cmd::Keys {
            cmd: KeysCmd::Activate { data, key_id },
        } => {
            quet_server::activate_signing_key(&data, key_id)?;
            println!("signing key {key_id} is now current; restart the server");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quet-server: {e}");
            ExitCode::FAILURE
        }
    }
}
