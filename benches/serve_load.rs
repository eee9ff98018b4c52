//! `authtui serve` under load, with a load client of our own on russh, loopback only,
//! bounded in count and time. Not a timed test: it prints a Markdown table on stdout and
//! progress on stderr.
//!
//! - memory per idle session: the server's RSS over its baseline, divided by SESSIONS
//!   (default 1000), each at 80x24 on the Log in screen;
//! - at rest: bytes sent to all clients, and the server's CPU ticks, in 10 s of nothing;
//! - bytes per keystroke: one client types 50 letters into the Username field;
//! - key-to-frame: TYPISTS (default 200) clients type 20 letters each, 50 ms apart, all at
//!   once; the time from a key's send to the first bytes of the frame it causes, p50/p99.
//!
//! `SESSIONS=1000 TYPISTS=200 cargo bench --bench serve_load`

#[path = "common/ssh.rs"]
mod ssh;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::ChannelMsg;
use tokio::sync::mpsc;

use ssh::{cpu_ticks, env_or, rss_kib};

struct Stats {
    bytes: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// One client: connects, opens a session at 80x24, counts what it receives, and types
/// when told (`n` letters, `gap` apart), timing each key to its frame.
async fn client(
    port: u16,
    stats: Arc<Stats>,
    mut typing: mpsc::Receiver<(usize, Duration)>,
    ready: mpsc::Sender<()>,
) {
    let (_session, mut channel) = match ssh::open_session(port, "load", 80, 24).await {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("{e}");
            let _ = ready.send(()).await;
            return;
        }
    };
    // The first frame.
    let mut first = 0usize;
    while first < 200 {
        match tokio::time::timeout(Duration::from_secs(20), channel.wait()).await {
            Ok(Some(ChannelMsg::Data { data })) => first += data.len(),
            _ => break,
        }
    }
    // Drain what follows the first frame for a moment.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), channel.wait()).await {}
    let _ = ready.send(()).await;
    loop {
        tokio::select! {
            msg = channel.wait() => match msg {
                Some(ChannelMsg::Data { data }) => { stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed); }
                Some(ChannelMsg::Close) | None => return,
                _ => {}
            },
            order = typing.recv() => {
                let Some((n, gap)) = order else { return };
                for i in 0..n {
                    let key = [b'a' + (i % 26) as u8];
                    let sent = Instant::now();
                    if channel.data(&key[..]).await.is_err() {
                        return;
                    }
                    if let Ok(Some(ChannelMsg::Data { data })) = tokio::time::timeout(Duration::from_secs(5), channel.wait()).await {
                        stats.latencies.lock().unwrap().push(sent.elapsed());
                        stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    // The rest of the frame, if it came in pieces.
                    while let Ok(Some(ChannelMsg::Data { data })) = tokio::time::timeout(Duration::from_millis(5), channel.wait()).await {
                        stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                    tokio::time::sleep(gap.saturating_sub(Duration::from_millis(5))).await;
                }
                // Clear the field again (backspaces), so the next round starts alike.
                let _ = channel.data(&vec![0x7f; n][..]).await;
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let sessions = env_or("SESSIONS", 1000).clamp(1, 5000);
    let typists = env_or("TYPISTS", 200).clamp(1, sessions);
    let dir = tempfile::tempdir().unwrap();
    let caps = ssh::caps_for(sessions);
    let args: Vec<&str> = caps.iter().map(String::as_str).collect();
    let server = ssh::start_server(dir.path(), 4, &args);
    let (pid, port) = (server.pid, server.port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let baseline = rss_kib(pid);
    let stats = Arc::new(Stats {
        bytes: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
    });
    let (ready_tx, mut ready_rx) = mpsc::channel(sessions);
    let mut orders = Vec::new();
    let started = Instant::now();
    rt.block_on(async {
        for n in 0..sessions {
            let (tx, rx) = mpsc::channel(1);
            orders.push(tx);
            rt.spawn(client(port, Arc::clone(&stats), rx, ready_tx.clone()));
            if n % 50 == 49 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        for _ in 0..sessions {
            ready_rx.recv().await;
        }
    });
    eprintln!(
        "{sessions} sessions open in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2));
    let loaded = rss_kib(pid);
    let per_session = (loaded.saturating_sub(baseline)) as f64 / sessions as f64;

    // At rest.
    stats.bytes.store(0, Ordering::SeqCst);
    let ticks = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(10));
    let rest_bytes = stats.bytes.load(Ordering::SeqCst);
    let rest_ticks = cpu_ticks(pid) - ticks;

    // Bytes per keystroke: one client, 50 letters.
    stats.bytes.store(0, Ordering::SeqCst);
    rt.block_on(orders[0].send((50, Duration::from_millis(20))))
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let per_key = stats.bytes.load(Ordering::SeqCst) as f64 / 50.0;
    stats.latencies.lock().unwrap().clear();

    // Key to frame with `typists` typing at once.
    rt.block_on(async {
        for order in orders.iter().take(typists) {
            let _ = order.send((20, Duration::from_millis(50))).await;
        }
    });
    std::thread::sleep(Duration::from_secs(8));
    let mut lat = stats.latencies.lock().unwrap().clone();
    lat.sort();

    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!("| sessions | {sessions} at 80x24 | |");
    println!("| server RSS baseline / loaded | {baseline} KiB / {loaded} KiB | |");
    println!("| memory per idle session | {per_session:.0} KiB | <= 256 KiB |");
    println!("| bytes sent in 10 s at rest (all sessions) | {rest_bytes} | 0 |");
    println!("| server CPU ticks in 10 s at rest | {rest_ticks} | 0 |");
    println!("| bytes per keystroke | {per_key:.1} | <= 64 |");
    println!(
        "| key-to-frame with {typists} typing ({} keys) | p50 {:.1} ms, p99 {:.1} ms | p99 < 20 ms |",
        lat.len(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3
    );
    drop(server);
}
