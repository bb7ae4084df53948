// rev.rs: a WASI command in Rust (std, built by Debian's rustc for wasm32-wasi): reads stdin as
// UTF-8 text and writes each line reversed (by characters) to stdout, then a summary line that
// uses a HashMap, a Vec sort and the arguments; with "--fail" it says so on stderr and exits 4.
// Its output is deterministic, so the native build of the same source prints the same bytes.
use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::process;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut counts: HashMap<char, usize> = HashMap::new();
    let mut lines = 0usize;
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rev: stdin: {}", e);
                process::exit(1);
            }
        };
        let reversed: String = line.chars().rev().collect();
        writeln!(out, "{}", reversed).unwrap();
        for c in line.chars().filter(|c| c.is_alphabetic()) {
            *counts.entry(c).or_insert(0) += 1;
        }
        lines += 1;
    }
    let mut top: Vec<(char, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<String> = top.iter().take(3).map(|(c, n)| format!("{}={}", c, n)).collect();
    writeln!(out, "lines: {}, args: {}, most common: {}", lines, args.len() - 1, top.join(" "))
        .unwrap();
    out.flush().unwrap();
    if args.iter().skip(1).any(|a| a == "--fail") {
        eprintln!("rev: failing as asked");
        process::exit(4);
    }
}
