//! `comptoir-web admin …` run as a real process on the test's database:
//! `reset-password` (still the way to set a password from the server; the
//! password from the environment, a terminal or standard input) and
//! `api-key create` (so that scripts start with no browser).

use comptoir::auth;

use crate::on_both_backends;
use crate::support::web::{stderr, stdout, Client, TestApp, EMAIL};
use crate::support::{self, Backend};

async fn the_command_line_still_resets_a_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut session = app.signed_in().await;
    let out = app
        .web_cli(
            &["admin", "reset-password", "--email", EMAIL],
            Some("another long password"),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("sessions are ended"), "{}", stdout(&out));
    assert_eq!(session.get("/admin").await.status, 303, "signed out");
    let mut browser = app.client();
    browser.sign_in(EMAIL, "another long password").await;
    let reset = app.audited("operator.reset_password").await;
    assert_eq!((reset.len(), reset[0].actor.as_str()), (1, "cli"));
    let out = app
        .web_cli(
            &["admin", "reset-password", "--email", "nobody@example.fr"],
            Some("another long password"),
        )
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no operator with the e-mail nobody@example.fr"),
        "{}",
        stderr(&out)
    );
}

async fn the_command_line_creates_an_api_key_for_scripts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let out = app
        .web_cli(
            &[
                "admin",
                "api-key",
                "create",
                "--email",
                EMAIL,
                "--name",
                "nightly export",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key = stdout(&out);
    assert!(key.starts_with("ck_") && !key.contains('\n'), "{key}");
    let mut api = Client::new(&app.base).with_bearer(&key);
    let prices = api.get("/api/prices").await;
    assert_eq!(prices.status, 200, "{}", prices.body);
    let mut anonymous = Client::new(&app.base);
    assert_eq!(anonymous.get("/api/prices").await.status, 401);

    let created = app.audited("api_key.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor, "cli");
    assert_eq!(created[0].details["name"], "nightly export");
    assert!(key.contains(created[0].details["prefix"].as_str().unwrap()));

    for (args, says) in [
        (
            vec!["--email", "nobody@example.fr", "--name", "x"],
            "no operator with the e-mail",
        ),
        (vec!["--email", EMAIL, "--name", "  "], "Nom : "),
    ] {
        let mut all = vec!["admin", "api-key", "create"];
        all.extend(args);
        let out = app.web_cli(&all, None).await;
        assert_eq!(out.status.code(), Some(1), "{all:?}");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(auth::list_keys(&app.db.store).await.unwrap().len(), 1);
}

/// Without COMPTOIR_ADMIN_PASSWORD, `admin reset-password` asks on the
/// terminal (here a pseudo-terminal made by `script`) and does not echo what
/// is typed; with standard input piped, it reads its first line.
async fn the_password_is_typed_on_a_terminal_or_piped(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let typed = "typed on a terminal, unseen";
    let line = format!(
        "'{}' admin reset-password --email {EMAIL}",
        env!("CARGO_BIN_EXE_comptoir-web")
    );
    let mut command = app.cli_command("script", &["-q", "-e", "-c", &line, "/dev/null"]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut script = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .expect("run script (util-linux) for a pseudo-terminal");
    let mut stdin = script.stdin.take().unwrap();
    let mut stdout = script.stdout.take().unwrap();
    // Type only once asked: the terminal echoes what arrives before that.
    let mut seen = Vec::new();
    let asked = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut chunk = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains("Password (at least") {
            let n = stdout.read(&mut chunk).await.unwrap();
            assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert!(asked.is_ok(), "no prompt: {}", String::from_utf8_lossy(&seen));
    // The prompt is written before echo is turned off: wait for that too.
    let script_pid = script.id().expect("script runs");
    let quiet = support::eventually(std::time::Duration::from_secs(30), || async move {
        terminal_of_child(script_pid).is_some_and(|tty| !echoes(&tty))
    })
    .await;
    assert!(quiet, "the terminal still echoes: {}", String::from_utf8_lossy(&seen));
    stdin.write_all(format!("{typed}\r").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    let rest = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        stdout.read_to_end(&mut seen).await.unwrap();
        script.wait().await.unwrap()
    })
    .await
    .expect("comptoir-web ends once the password is typed");
    let said = String::from_utf8_lossy(&seen);
    assert!(rest.success(), "{said}");
    assert!(said.contains("sessions are ended"), "{said}");
    assert!(!said.contains(typed), "the password was echoed: {said}");
    app.client().sign_in(EMAIL, typed).await;

    let piped = "piped on standard input";
    let mut command = app.cli_command(
        env!("CARGO_BIN_EXE_comptoir-web"),
        &["admin", "reset-password", "--email", EMAIL],
    );
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = tokio::process::Command::from(command).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{piped}\nnot this line\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    app.client().sign_in(EMAIL, piped).await;
}

/// The terminal of the command run by the process `parent` (`script`): its
/// child's standard input, found through /proc.
fn terminal_of_child(parent: u32) -> Option<std::path::PathBuf> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // pid (comm) state ppid …: comm may hold spaces and parentheses.
        let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
        let tty = std::fs::read_link(entry.path().join("fd/0")).ok()?;
        (ppid == parent && tty.starts_with("/dev/pts")).then_some(tty)
    })
}

/// Whether `tty` echoes what is typed (`stty -F`).
fn echoes(tty: &std::path::Path) -> bool {
    let out = std::process::Command::new("stty")
        .arg("-F")
        .arg(tty)
        .arg("-a")
        .output()
        .expect("run stty");
    !String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|w| w == "-echo")
}

on_both_backends!(
    the_command_line_still_resets_a_password,
    the_command_line_creates_an_api_key_for_scripts,
    the_password_is_typed_on_a_terminal_or_piped,
);
