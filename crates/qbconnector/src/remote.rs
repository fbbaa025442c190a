//! `qbconnector send` and `qbconnector query`: the client side, from the
//! shell.
//!
//! The connection string comes from `--connection`, `--connection-file`
//! or the `QBC_CONNECTION` environment variable, so that a password need
//! not appear in shell history.

use qbc_client::{Client, Error};
use qbxml::Elem;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, String>;

pub const ENV: &str = "QBC_CONNECTION";

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Xml,
    Json,
    Csv,
}

fn connection(inline: Option<String>, file: Option<PathBuf>) -> Result<Client> {
    let s = match (inline, file) {
        (Some(s), _) => s,
        (None, Some(f)) => std::fs::read_to_string(&f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .trim()
            .to_string(),
        (None, None) => std::env::var(ENV).map_err(|_| {
            format!("no connection string: give --connection, --connection-file, or set {ENV}")
        })?,
    };
    Client::from_connection_string(&s).map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Exit status: 0, or 3 when a request in the answer failed.
pub fn send(
    inline: Option<String>,
    file: Option<PathBuf>,
    input: Option<PathBuf>,
    pretty: bool,
    json: bool,
) -> Result<u8> {
    let client = connection(inline, file)?;
    let xml = match input.as_deref() {
        None => read_stdin()?,
        Some(p) if p == Path::new("-") => read_stdin()?,
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
    };
    if json {
        return send_json(&client, &xml, pretty);
    }
    let text = runtime()?
        .block_on(client.send(&xml))
        .map_err(|e| e.to_string())?;
    let failed = qbxml::parse_response(text.clone().into_bytes())
        .map(|set| set.responses().any(|r| r.is_error()))
        .unwrap_or(false);
    if pretty {
        match qbxml::parse_response(text.clone().into_bytes()) {
            Ok(set) => {
                let mut out = String::new();
                indent(&Elem::from_element(set.document().root()), 0, &mut out);
                out!("{out}")?;
            }
            Err(_) => out!("{text}")?,
        }
    } else {
        out!("{text}")?;
    }
    Ok(if failed { 3 } else { 0 })
}

/// `send --json`: exit status 3 when a response's severity is Error.
fn send_json(client: &Client, json: &str, pretty: bool) -> Result<u8> {
    let text = runtime()?
        .block_on(client.send_json(json))
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    // Every response of every message set (QBXMLMsgsRs, the subscription
    // set, SignonMsgsRs).
    let failed = v["QBXML"]
        .as_object()
        .into_iter()
        .flat_map(|root| root.values())
        .filter_map(|set| set.as_object())
        .flat_map(|set| set.values())
        .flat_map(|rs| match rs {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        })
        .any(|rs| rs["@statusSeverity"] == "Error");
    let shown = if pretty {
        serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
    } else {
        text
    };
    out!("{}\n", &shown)?;
    Ok(if failed { 3 } else { 0 })
}

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| format!("standard input: {e}"))?;
    Ok(s)
}

fn indent(e: &Elem, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    out.push_str(&pad);
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push_str(&format!(" {k}=\""));
        qbxml::escape_into(out, v);
        out.push('"');
    }
    if e.children.is_empty() && e.text.is_empty() {
        out.push_str(" />\n");
        return;
    }
    out.push('>');
    if e.children.is_empty() {
        qbxml::escape_into(out, &e.text);
    } else {
        out.push('\n');
        for c in &e.children {
            indent(c, depth + 1, out);
        }
        out.push_str(&pad);
    }
    out.push_str(&format!("</{}>\n", e.name));
}

/// `Customer` (or `CustomerQueryRq`) → `Customer`.
fn query_kind(kind: &str) -> &str {
    kind.strip_suffix("QueryRq").unwrap_or(kind)
}

/// `Customer` → `<CustomerQueryRq>` with `filters` (`Path/To=value`).
pub fn query_element(kind: &str, filters: &[String], max: Option<u32>) -> Result<Elem> {
    let mut rq = Elem::new(format!("{}QueryRq", query_kind(kind)));
    for f in filters {
        let (path, value) = f
            .split_once('=')
            .ok_or_else(|| format!("filter `{f}`: expected Name=value (e.g. ActiveStatus=All, NameFilter/MatchCriterion=StartsWith)"))?;
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let Some((last, parents)) = parts.split_last() else {
            return Err(format!("filter `{f}`: no element name"));
        };
        let mut at = &mut rq;
        for p in parents {
            let i = match at.children.iter().position(|c| c.name == *p) {
                Some(i) => i,
                None => {
                    at.push(Elem::new(p.to_string()));
                    at.children.len() - 1
                }
            };
            at = &mut at.children[i];
        }
        at.push(Elem::leaf(last.to_string(), value));
    }
    if let Some(m) = max {
        rq.push(Elem::leaf("MaxReturned", m.to_string()));
    }
    Ok(rq)
}

/// Leaf values of a record by path (`BillAddress/City`), in order.
fn flatten(e: &Elem, prefix: &str, out: &mut Vec<(String, String)>) {
    for c in &e.children {
        let path = if prefix.is_empty() {
            c.name.to_string()
        } else {
            format!("{prefix}/{}", c.name)
        };
        if c.children.is_empty() {
            out.push((path, c.text.clone()));
        } else {
            flatten(c, &path, out);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn query(
    inline: Option<String>,
    file: Option<PathBuf>,
    kind: &str,
    filters: &[String],
    max: Option<u32>,
    page: u32,
    format: Format,
) -> Result<()> {
    let client = connection(inline, file)?;
    let rq = query_element(kind, filters, None)?;
    let progress = std::io::stderr().is_terminal();
    let records = runtime()?.block_on(async {
        let mut pages = client.pages(rq, page.min(max.unwrap_or(u32::MAX)), qbxml::Version::V13_0);
        let mut all = Vec::new();
        while let Some(batch) = pages.next().await? {
            all.extend(batch);
            if progress {
                eprint!(
                    "\r{} records{}",
                    all.len(),
                    pages
                        .remaining()
                        .map(|r| format!(", {r} to go "))
                        .unwrap_or_default()
                );
            }
            if max.is_some_and(|m| all.len() >= m as usize) {
                all.truncate(max.unwrap_or(0) as usize);
                pages.stop().await?;
                break;
            }
        }
        if progress {
            eprintln!();
        }
        Ok::<_, Error>(all)
    });
    let records = records.map_err(|e| e.to_string())?;
    match format {
        Format::Xml => {
            for r in &records {
                let mut s = String::new();
                indent(r, 0, &mut s);
                out!("{}", &s)?;
            }
        }
        Format::Json => {
            // The JSON form (docs/PROTOCOL.md §14): the records as the
            // query response holds them, `{"CustomerRet": [{…}, …]}`,
            // nested and typed by the schema.
            let rs_name = format!("{}QueryRs", query_kind(kind));
            let mut rs = Elem::new(rs_name.clone());
            rs.children = records;
            let decl = qbxml::schema::Schema::for_version(qbxml::Version::V13_0)
                .response(&rs_name)
                .map(|p| p.decl());
            let text = qbxml::json::elem_to_json(&rs, decl);
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let shown = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
            out!("{}\n", &shown)?;
        }
        Format::Csv => {
            let rows: Vec<Vec<(String, String)>> = records
                .iter()
                .map(|r| {
                    let mut f = Vec::new();
                    flatten(r, "", &mut f);
                    f
                })
                .collect();
            let mut columns: Vec<String> = Vec::new();
            for row in &rows {
                for (k, _) in row {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            let line: Vec<String> = columns.iter().map(|c| csv_field(c)).collect();
            out!("{}", &(line.join(",") + "\r\n"))?;
            for row in &rows {
                let line: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        // A repeated element (several lines) is joined.
                        let vals: Vec<&str> = row
                            .iter()
                            .filter(|(k, _)| k == c)
                            .map(|(_, v)| v.as_str())
                            .collect();
                        csv_field(&vals.join("; "))
                    })
                    .collect();
                out!("{}", &(line.join(",") + "\r\n"))?;
            }
        }
    }
    Ok(())
}

/// RFC 4180: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
