//! A private PostgreSQL cluster from the machine's server binaries, for dev mode and the tests.
//! Listens on 127.0.0.1 only, trust auth, a free port; runs as an unprivileged user when we are
//! root (PostgreSQL refuses to run as root).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};

pub const SUPERUSER: &str = "postgres";

#[derive(Debug, Clone)]
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    /// (uid, gid) to run the server as, when we are root.
    owner: Option<(u32, u32)>,
}

/// How the cluster is tuned: tests trade durability for speed, dev keeps its data safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Throwaway,
}

/// Where the server binaries are: PATH first, then Debian's `/usr/lib/postgresql/<major>/bin`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let has_all = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_all(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_all(dir))
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, dir)| dir).ok_or_else(|| {
        anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in PATH or /usr/lib/postgresql/*/bin; \
             install them with `apt-get install postgresql` (Debian/Ubuntu) or set DATABASE_URL to an existing database"
        )
    })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// uid/gid of `postgres` (Debian's package creates it), else `nobody`, when running as root.
fn unprivileged_owner() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY-free check: /proc/self/status tells the effective uid without libc.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(u32::MAX);
    if euid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3 && f[0] == wanted {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    return Ok(Some((uid, gid)));
                }
            }
        }
    }
    bail!("running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL as; create one (useradd postgres)")
}

fn chown_tree(path: &Path, owner: (u32, u32)) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:{}", owner.0, owner.1))
        .arg(path)
        .status()
        .context("running chown")?;
    if !status.success() {
        bail!("chown of {} failed", path.display());
    }
    Ok(())
}

impl PrivatePostgres {
    /// Creates the cluster under `root` (which must be empty or absent) without starting it.
    pub fn init(root: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        let owner = unprivileged_owner()?;
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let data_dir = root.join("data");
        let pg = PrivatePostgres { bin_dir, data_dir, port: 0, owner };
        if let Some(owner) = owner {
            chown_tree(root, owner)?;
        }
        let output = pg
            .command("initdb")
            .arg("-D")
            .arg(&pg.data_dir)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .context("running initdb")?;
        if !output.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(pg)
    }

    /// An existing cluster under `root`, if there is one.
    pub fn existing(root: &Path) -> anyhow::Result<Option<Self>> {
        let data_dir = root.join("data");
        if !data_dir.join("PG_VERSION").is_file() {
            return Ok(None);
        }
        Ok(Some(PrivatePostgres { bin_dir: find_bin_dir()?, data_dir, port: 0, owner: unprivileged_owner()? }))
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
            // A working directory the server user can read.
            if let Some(parent) = self.data_dir.parent() {
                cmd.current_dir(parent);
            }
        }
        cmd.env_remove("PGDATA").env("LC_ALL", "C");
        cmd
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn port_file(&self) -> PathBuf {
        self.data_dir.with_file_name("port")
    }

    /// Whether a server is running on this data directory already (dev mode restarts).
    pub fn running_port(&self) -> Option<u16> {
        let status = self.command("pg_ctl").arg("-D").arg(&self.data_dir).arg("status").output().ok()?;
        if !status.status.success() {
            return None;
        }
        std::fs::read_to_string(self.port_file()).ok()?.trim().parse().ok()
    }

    /// Starts the server on a free port (retrying if another process takes the port first).
    pub fn start(&mut self, durability: Durability) -> anyhow::Result<()> {
        if let Some(port) = self.running_port() {
            self.port = port;
            return Ok(());
        }
        let mut last_error = String::new();
        for _ in 0..5 {
            match self.start_at(free_port()?, durability)? {
                Ok(()) => return Ok(()),
                Err(e) => last_error = e,
            }
        }
        bail!("PostgreSQL did not start: {last_error}")
    }

    /// Starts a stopped server again on the port it had, so clients reconnect to the same URL
    /// (the fault tests restart the database under a running service).
    pub fn start_again(&mut self, durability: Durability) -> anyhow::Result<()> {
        let port = self.port;
        self.start_at(port, durability)?.map_err(|e| anyhow::anyhow!("PostgreSQL did not start again: {e}"))
    }

    fn start_at(&mut self, port: u16, durability: Durability) -> anyhow::Result<Result<(), String>> {
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c timezone=UTC"
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.with_file_name("postgres.log");
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdin(Stdio::null())
            .output()
            .context("running pg_ctl start")?;
        if output.status.success() {
            self.port = port;
            let _ = std::fs::write(self.port_file(), port.to_string());
            return Ok(Ok(()));
        }
        Ok(Err(format!(
            "{} (server log: {})",
            String::from_utf8_lossy(&output.stderr).trim(),
            std::fs::read_to_string(&log).unwrap_or_default().lines().last().unwrap_or("")
        )))
    }

    pub fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Stops the server and deletes `root` once process `pid` has exited, even if it is killed:
    /// a detached watchdog, so a test run never leaves a cluster behind.
    pub fn remove_when_process_exits(&self, pid: u32, root: &Path) -> anyhow::Result<()> {
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; '{}' -D '{}' -m immediate stop >/dev/null 2>&1; rm -rf '{}'",
            self.bin_dir.join("pg_ctl").display(),
            self.data_dir.display(),
            root.display()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid).current_dir("/");
        }
        cmd.process_group(0);
        cmd.spawn().context("starting the cleanup watchdog")?;
        Ok(())
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }
}
