//! Browser tests: `kizuna serve --demo` driven by real headless Chromium through chromedriver
//! and Selenium (`tests/browser/test_pages.py`): sign in, the dashboard against the metrics API,
//! filtering the account list, a timeline note, a CSM pulse that rescores, an account falling to
//! at risk getting a playbook task and an email that, once approved, reaches a local SMTP sink,
//! the language switch, and every page free of JavaScript console errors. Screenshots of every page visited are
//! saved under `target/tmp/browser-screenshots/<database>/`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use store::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const DEMO_ADMIN: &str = "kenichi.sato@kizuna-demo.example";
const DEMO_PASSWORD: &str = "demo password for browser tests";

fn browser_installed() -> bool {
    let driver = Path::new("/usr/bin/chromedriver").exists() || std::env::var_os("CHROMEDRIVER").is_some();
    let selenium = Command::new("python3").args(["-c", "import selenium"]).output().is_ok_and(|o| o.status.success());
    driver && selenium
}

struct Running {
    server: std::process::Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// An SMTP server that accepts every message and keeps its text.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut message: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(text) = message.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(message.take().unwrap_or_default());
                            let _ = write.write_all(b"250 queued\r\n").await;
                        } else {
                            text.push_str(&line);
                            text.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            message = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (format!("smtp://{address}"), received)
}

async fn serve_demo(dir: &Path, database: Option<&TestDatabase>, smtp: &str) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_kizuna"));
    command
        .args(["serve", "--demo", "--demo-accounts", "120", "--listen", &listen])
        .env("KIZUNA_DATA_DIR", dir)
        .env("KIZUNA_DEMO_PASSWORD", DEMO_PASSWORD)
        .env("KIZUNA_SMTP_URL", smtp)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match database {
        Some(db) => command.env("KIZUNA_DATABASE_URL", &db.url),
        None => command.env_remove("KIZUNA_DATABASE_URL"),
    };
    let running = Running { server: command.spawn().unwrap(), base: format!("http://{listen}") };
    let client = reqwest::Client::new();
    // Loading the demo in a debug build on two busy cores can take most of a minute.
    for _ in 0..1800 {
        if client.get(format!("{}/healthz", running.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return running;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("kizuna serve --demo did not become healthy at {}", running.base);
}

// Several threads: the SMTP sink must answer while this test waits for the browser script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csm_signs_in_reads_the_dashboard_works_an_account_and_switches_language_in_chromium() {
    if !browser_installed() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium, chromium-driver and selenium (.ci/run)");
        eprintln!("skipped: install chromium, chromium-driver and `pip install selenium` to run the browser tests");
        return;
    }
    let mut databases = vec![None];
    if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
        databases.push(Some(TestDatabase::create(&admin).await));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/test_pages.py");
    for database in &databases {
        let label = if database.is_some() { "postgres" } else { "sqlite" };
        let dir = tempfile::tempdir().unwrap();
        let (smtp, mailbox) = smtp_sink().await;
        let running = serve_demo(dir.path(), database.as_ref(), &smtp).await;
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots").join(label);
        let _ = std::fs::remove_dir_all(&shots);
        let output = Command::new("python3")
            .arg(&script)
            .args([running.base.as_str(), DEMO_ADMIN, DEMO_PASSWORD])
            .arg(&shots)
            .output()
            .unwrap();
        drop(running);
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "browser tests on {label}:\n{printed}");
        let mail = mailbox.lock().unwrap().clone();
        // The at-risk flow is skipped on days when no demo account is within one pulse of it.
        let flow_ran = !printed.contains("no neutral demo account is within one CSM pulse");
        // The leader chooses a weekly digest in the flow: on a Monday it is sent to them too.
        let to_customers = mail.iter().filter(|m| !m.contains(&format!("To: {DEMO_ADMIN}"))).count();
        assert_eq!(to_customers, usize::from(flow_ran), "the approved email reached the SMTP server once: {mail:?}");
        assert!(mail.iter().all(|m| m.contains("Subject:") && m.contains("@")), "{mail:?}");
        eprintln!("{label}: {printed}");
    }
    for database in databases.into_iter().flatten() {
        database.drop_database().await;
    }
}
