//! `quet-server`: the health authority's diagnosis server (see README.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use quet_server::roles::Role;
use quet_server::{Config, InitOptions};
use zeroize::Zeroizing;

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
    Run(Box<RunArgs>),
    /// Write the descriptor and live bulletins as static files.
    Export {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// Output directory.
        #[arg(long)]
        to: PathBuf,
        /// Also export the phone web app built by `web/build.sh DIR`.
        #[arg(long, env = "QUET_APP")]
        app: Option<PathBuf>,
    },
    /// Staff accounts: roles, console passwords, API tokens.
    Staff {
        #[command(subcommand)]
        cmd: StaffCmd,
    },
    /// Ward officers: register and approve venues of one district.
    WardOfficer {
        #[command(subcommand)]
        cmd: WardOfficerCmd,
    },
    /// Key management: signing-key rotation and weekly capsule keys (these need the
    /// offline root key).
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// The authority's list of districts (quận/huyện) that venue heartbeats may name.
    Districts {
        #[command(subcommand)]
        cmd: DistrictsCmd,
    },
}

#[derive(Subcommand)]
enum DistrictsCmd {
    /// Replace the list with the names in FILE (UTF-8, one per line, `#` comments).
    /// The whole file is refused if any name is malformed or listed twice.
    Import {
        /// The list file.
        file: PathBuf,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Print the list, one name per line.
    List {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Add a staff member. Prints their API token (for /admin/v1) and console
    /// password, once; only hashes are stored.
    Add {
        /// Unique name (what they type to log in).
        name: String,
        /// Roles, comma-separated or repeated: tracer (issue codes, review),
        /// publisher (approve, publish, withdraw), administrator (staff, keys),
        /// ward-officer (venue registrations in --district).
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// The district of a ward officer.
        #[arg(long)]
        district: Option<String>,
        /// Read the console password from the first line of standard input
        /// instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// List staff members, their roles and open console sessions.
    List {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Replace a staff member's roles (and district).
    Roles {
        /// Name.
        name: String,
        /// Roles, comma-separated or repeated.
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<String>,
        /// The district of a ward officer.
        #[arg(long)]
        district: Option<String>,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Set a new console password (generated and printed, or read from stdin);
    /// ends that person's console sessions.
    Password {
        /// Name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Issue a new API token (printed once); the old one stops working.
    Token {
        /// Name.
        name: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Disable a staff member: token and password stop working, sessions end.
    Disable {
        /// Name.
        name: String,
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
    },
    /// Re-enable a disabled staff member.
    Enable {
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
    /// Disable a ward officer (their token and console login).
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
        /// The root key file (default DATA/keys/root.key; keep it offline).
        #[arg(long)]
        root_key: Option<PathBuf>,
    },
    /// Start signing with an announced key (restart the server afterwards).
    Activate {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// The key id.
        #[arg(long)]
        key_id: u8,
        /// The root key file (default DATA/keys/root.key; keep it offline).
        #[arg(long)]
        root_key: Option<PathBuf>,
    },
    /// Announce weekly capsule keys ahead and drop destroyed ones from the
    /// descriptor (run every few weeks; restart the server afterwards).
    Extend {
        /// Data directory.
        #[arg(long, env = "QUET_DATA")]
        data: PathBuf,
        /// Weeks to announce beyond the current one.
        #[arg(long, default_value_t = quet_server::keystore::DEFAULT_CAPSULE_WEEKS_AHEAD)]
        weeks: u8,
        /// The root key file (default DATA/keys/root.key; keep it offline).
        #[arg(long)]
        root_key: Option<PathBuf>,
    },
}

fn root_path(data: &std::path::Path, root_key: Option<PathBuf>) -> PathBuf {
    root_key.unwrap_or_else(|| quet_server::keystore::default_root_key_path(data))
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
    /// The phone web app, as built by `web/build.sh DIR`: served at /, /C and /c.
    #[arg(long, env = "QUET_APP")]
    app: Option<PathBuf>,
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
    /// Whole-request time limit, seconds (503 `timeout` after it).
    #[arg(long, env = "QUET_REQUEST_TIMEOUT")]
    request_timeout: Option<u64>,
    /// Seconds a request body may take to arrive (408 `body_timeout` after it).
    #[arg(long, env = "QUET_BODY_TIMEOUT")]
    body_timeout: Option<u64>,
    /// Seconds a connection may take to send a request's headers, from its start
    /// or its previous response (idle keep-alive included); then it is closed.
    #[arg(long, env = "QUET_HEADER_TIMEOUT")]
    header_timeout: Option<u64>,
    /// Seconds a client may read nothing of an answer before its connection is
    /// closed.
    #[arg(long, env = "QUET_SEND_TIMEOUT")]
    send_timeout: Option<u64>,
    /// Open connections at once (default: derived from the open-file limit, at
    /// most 8192; must stay below that limit).
    #[arg(long, env = "QUET_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Open connections from one client address (trusted proxies exempt).
    #[arg(long, env = "QUET_MAX_CONNECTIONS_PER_ADDRESS")]
    max_connections_per_address: Option<usize>,
    /// Code checks per second, all clients together.
    #[arg(long, env = "QUET_GLOBAL_ATTEMPTS_PER_SECOND")]
    global_attempts_per_second: Option<u32>,
    /// Seconds for an address's wrong-code budget to refill.
    #[arg(long, env = "QUET_LOCKOUT_SECS")]
    lockout_secs: Option<u64>,
    /// Heartbeats per client address per minute.
    #[arg(long, env = "QUET_HEARTBEATS_PER_MINUTE")]
    heartbeats_per_minute: Option<u32>,
    /// Heartbeats per venue pseudonym per hour.
    #[arg(long, env = "QUET_HEARTBEATS_PER_PSEUDONYM_PER_HOUR")]
    heartbeats_per_pseudonym_per_hour: Option<u32>,
    /// Most bulletins published in any hour.
    #[arg(long, env = "QUET_MAX_BULLETINS_PER_HOUR")]
    max_bulletins_per_hour: Option<u32>,
    /// Most bulletins published in any 24 hours.
    #[arg(long, env = "QUET_MAX_BULLETINS_PER_DAY")]
    max_bulletins_per_day: Option<u32>,
    /// A proxy (address or CIDR block) whose Forwarded / X-Forwarded-For headers
    /// name the client; repeat the flag or separate with commas.
    #[arg(
        long = "trusted-proxy",
        env = "QUET_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// Serve /metrics (without a token) on this separate, private address.
    #[arg(long, env = "QUET_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// A file holding the bearer token that unlocks /metrics on the public
    /// listener (the QUET_METRICS_TOKEN variable may give the token itself).
    #[arg(long, env = "QUET_METRICS_TOKEN_FILE")]
    metrics_token_file: Option<PathBuf>,
    /// Whether clients reach the server over TLS, via a proxy (adds HSTS).
    /// Default: when the authority's base URL is https.
    #[arg(long, env = "QUET_HTTPS")]
    https: Option<bool>,
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
    if let Some(v) = &a.app {
        c.app_dir = Some(v.clone());
    }
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
    if let Some(v) = a.body_timeout {
        c.body_timeout_secs = v;
    }
    if let Some(v) = a.header_timeout {
        c.header_timeout_secs = v;
    }
    if let Some(v) = a.send_timeout {
        c.send_timeout_secs = v;
    }
    if a.max_connections.is_some() {
        c.max_connections = a.max_connections;
    }
    if let Some(v) = a.max_connections_per_address {
        c.max_connections_per_address = v;
    }
    if let Some(v) = a.global_attempts_per_second {
        c.global_attempts_per_second = v;
    }
    if let Some(v) = a.lockout_secs {
        c.lockout_secs = v;
    }
    if let Some(v) = a.heartbeats_per_minute {
        c.heartbeats_per_minute = v;
    }
    if let Some(v) = a.heartbeats_per_pseudonym_per_hour {
        c.heartbeats_per_pseudonym_per_hour = v;
    }
    if let Some(v) = a.max_bulletins_per_hour {
        c.max_bulletins_per_hour = v;
    }
    if let Some(v) = a.max_bulletins_per_day {
        c.max_bulletins_per_day = v;
    }
    if !a.trusted_proxies.is_empty() {
        c.trusted_proxies = a.trusted_proxies.clone();
    }
    if a.metrics_listen.is_some() {
        c.metrics_listen = a.metrics_listen;
    }
    if let Some(p) = &a.metrics_token_file {
        let t = std::fs::read_to_string(p)
            .map_err(|e| quet_server::ServerError::Io(p.display().to_string(), e))?;
        c.metrics_token = Some(t.trim().to_owned());
    } else if let Ok(t) = std::env::var("QUET_METRICS_TOKEN") {
        c.metrics_token = Some(t.trim().to_owned());
    }
    if a.https.is_some() {
        c.https = a.https;
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
            println!(
                "root key {} (signs descriptors only: move it offline, e.g. to an encrypted USB key, and pass --root-key to `keys` commands)",
                r.root_key.display()
            );
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
                // Tests and scripts read these lines to learn the ports.
                println!("listening on {}", server.addr());
                if let Some(m) = server.metrics_addr() {
                    println!("metrics on {m}");
                }
                server.wait().await
            })?;
        }
        Cmd::Export { data, to, app } => {
            let r = quet_server::export(&data, &to, quet_server::db::now())?;
            println!(
                "exported {} bulletins, removed {} stale files",
                r.bulletins.len(),
                r.removed
            );
            if let Some(app) = app {
                let n = quet_server::export::export_app(&app, &to)?;
                println!("exported the phone app ({n} files)");
            }
        }
        Cmd::Staff { cmd } => staff_command(cmd)?,
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
            quet_server::disable_staff(&data, &name)?;
        }
        Cmd::Districts {
            cmd: DistrictsCmd::Import { file, data },
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| quet_server::ServerError::Io(file.display().to_string(), e))?;
            let n = quet_server::import_districts(&data, &text)?;
            println!("{n} districts imported");
        }
        Cmd::Districts {
            cmd: DistrictsCmd::List { data },
        } => {
            for name in quet_server::list_districts(&data)? {
                println!("{name}");
            }
        }
        Cmd::Keys {
            cmd: KeysCmd::Announce { data, root_key },
        } => {
            let root = root_path(&data, root_key);
            let id = quet_server::announce_signing_key(&data, &root)?;
            println!("announced signing key {id}");
        }
        Cmd::Keys {
            cmd:
                KeysCmd::Activate {
                    data,
                    key_id,
                    root_key,
                },
        } => {
            let root = root_path(&data, root_key);
            quet_server::activate_signing_key(&data, key_id, &root)?;
            println!("signing key {key_id} is now current; restart the server");
        }
        Cmd::Keys {
            cmd:
                KeysCmd::Extend {
                    data,
                    weeks,
                    root_key,
                },
        } => {
            let root = root_path(&data, root_key);
            let added =
                quet_server::extend_capsule_keys(&data, &root, weeks, quet_server::db::now())?;
            println!(
                "announced {} capsule keys ({:?}); restart the server",
                added.len(),
                added
            );
        }
    }
    Ok(())
}

fn parse_roles(roles: &[String]) -> Result<Vec<Role>, quet_server::ServerError> {
    Role::parse_list(&roles.join(",")).map_err(quet_server::ServerError::Other)
}

fn read_password_line() -> Result<Zeroizing<String>, quet_server::ServerError> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| quet_server::ServerError::Io("standard input".into(), e))?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

fn staff_command(cmd: StaffCmd) -> Result<(), quet_server::ServerError> {
    use quet_server::{db::now, staff};
    match cmd {
        StaffCmd::Add {
            name,
            roles,
            district,
            password_stdin,
            data,
        } => {
            let password = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let creds = quet_server::add_staff_with(
                &data,
                &staff::NewStaff {
                    name,
                    roles: parse_roles(&roles)?,
                    district,
                    password: password.clone(),
                },
            )?;
            println!("api token: {}", *creds.token);
            if password.is_none() {
                println!("console password: {}", *creds.password);
            }
        }
        StaffCmd::List { data } => {
            let rows = quet_server::with_transaction(&data, |tx| Ok(staff::list(tx)?))?;
            for r in rows {
                let roles: Vec<&str> = r.roles.iter().map(|r| r.slug()).collect();
                println!(
                    "{}\t{}\t{}\t{}\tsessions {}",
                    r.name,
                    roles.join(","),
                    r.district.as_deref().unwrap_or("-"),
                    if r.disabled { "disabled" } else { "enabled" },
                    r.sessions
                );
            }
        }
        StaffCmd::Roles {
            name,
            roles,
            district,
            data,
        } => {
            let roles = parse_roles(&roles)?;
            quet_server::with_transaction(&data, |tx| {
                staff::set_roles(tx, &name, &roles, district.clone(), "cli", now())
            })?;
        }
        StaffCmd::Password {
            name,
            password_stdin,
            data,
        } => {
            let given = if password_stdin {
                Some(read_password_line()?)
            } else {
                None
            };
            let shown = given.is_none();
            let pw = quet_server::with_transaction(&data, |tx| {
                staff::set_password(tx, &name, given.clone(), "cli", now())
            })?;
            if shown {
                println!("console password: {}", *pw);
            }
        }
        StaffCmd::Token { name, data } => {
            let token = quet_server::with_transaction(&data, |tx| {
                staff::new_token(tx, &name, "cli", now())
            })?;
            println!("api token: {}", *token);
        }
        StaffCmd::Disable { name, data } => {
            quet_server::disable_staff(&data, &name)?;
        }
        StaffCmd::Enable { name, data } => {
            quet_server::with_transaction(&data, |tx| staff::enable(tx, &name, "cli", now()))?;
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
