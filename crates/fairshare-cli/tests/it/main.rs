//! The `fairshare` binary run as a user would, on a real database of each backend.

mod accounts;
mod backups;
mod browser;
mod contract;
mod contributions;
mod demo;
mod github;
mod instances;
mod platforms;
mod rates;
mod rollups;
mod schedule;
mod scores;
mod serve;
mod site;
mod sponsorship;
mod thresholds;
mod writers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/big-mac")
        .join(name)
        .display()
        .to_string()
}

/// A command line as the tests write it: one string, as typed in a shell
/// (`"import orgs 'my orgs.csv'"`), or the arguments one by one when some are computed.
pub trait CommandLine: std::fmt::Debug {
    fn to_args(&self) -> Vec<String>;
}

impl CommandLine for str {
    fn to_args(&self) -> Vec<String> {
        shlex::split(self).unwrap_or_else(|| panic!("not a well-quoted command line: {self}"))
    }
}

impl CommandLine for [&str] {
    fn to_args(&self) -> Vec<String> {
        self.iter().map(|a| a.to_string()).collect()
    }
}

impl<const N: usize> CommandLine for [&str; N] {
    fn to_args(&self) -> Vec<String> {
        self.as_slice().to_args()
    }
}

impl CommandLine for Vec<&str> {
    fn to_args(&self) -> Vec<String> {
        self.as_slice().to_args()
    }
}

/// Runs `fairshare` in `cwd` with a clean environment (no FAIRSHARE_* leaks in).
pub fn fairshare(
    cwd: &Path,
    database: Option<&str>,
    args: &(impl CommandLine + ?Sized),
    env: &[(&str, &str)],
) -> Output {
    fairshare_command(cwd, database, args, env)
        .output()
        .expect("run fairshare")
}

/// The `fairshare` command `fairshare()` runs, to start in the background.
pub fn fairshare_command(
    cwd: &Path,
    database: Option<&str>,
    args: &(impl CommandLine + ?Sized),
    env: &[(&str, &str)],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fairshare"));
    command.current_dir(cwd).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("FAIRSHARE_") {
            command.env_remove(key);
        }
    }
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    command.args(args.to_args()).envs(env.iter().copied());
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs and insists on success: `ok(dir, db, "scores --month 2026-10 --format csv")`.
pub fn ok(cwd: &Path, database: Option<&str>, args: &(impl CommandLine + ?Sized)) -> String {
    let output = fairshare(cwd, database, args, &[]);
    assert!(
        output.status.success(),
        "fairshare {args:?} failed:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Whether `program --version` runs here.
fn installed(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The browser tests need Debian's `chromium` (and `chromium-driver`). Without them
/// they say so and pass, unless `REQUIRE_BROWSER_TESTS` is set, as `.ci/run` does.
pub fn browser_tests_can_run(needs_driver: bool) -> bool {
    let present = installed("chromium") && (!needs_driver || installed("chromedriver"));
    if !present {
        assert!(
            std::env::var_os("REQUIRE_BROWSER_TESTS").is_none(),
            "REQUIRE_BROWSER_TESTS is set but Chromium is missing: apt-get install -y chromium chromium-driver"
        );
        eprintln!("browser test skipped: install chromium and chromium-driver to run it");
    }
    present
}
