//! Read Intuit's annotated "sample data" ops file (qbxmlops130.xml) and lay its
//! per-field comments (max length for QuickBooks Desktop, introducing
//! version, "not in QBD", enum defaults, value ranges) onto the compiled XSD.
//!
//! The file is regular: one element per line, annotations in a trailing
//! comment on the same line, enum values in a comment on the line before.

use crate::xsd::{Ann, Schema};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

#[derive(Debug, Default)]
pub struct OpsNode {
    pub name: String,
    pub ann: Ann,
    pub children: Vec<OpsNode>,
    pub line: usize,
}

pub fn load(path: &Path) -> Result<OpsNode, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(text: &str) -> Result<OpsNode, String> {
    let mut stack = vec![OpsNode::default()];
    let mut pending_default: Option<(String, String)> = None;
    // OR groups can carry facts for all their members, e.g.
    // `<!-- v11.0, BEGIN OR: You may optionally have SerialNumber OR LotNumber -->`.
    // Each entry: the element depth the group is open at, and its facts.
    let mut groups: Vec<(usize, Ann)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with("<?") {
            continue;
        }
        if let Some(body) = line.strip_prefix("<!--") {
            let body = body.trim_end_matches("-->").trim();
            if let Some(at) = body.find("BEGIN OR") {
                let prefix = body[..at].trim_end_matches([',', ' ']);
                let ann = parse_ann(prefix).map_err(|e| format!("line {line_no}: {e}"))?;
                groups.push((stack.len(), ann));
            } else if body.starts_with("END OR") {
                if let Some(i) = groups.iter().rposition(|(d, _)| *d == stack.len()) {
                    groups.remove(i);
                }
            }
            if let Some((field, values)) = body.split_once(" may have one of the following values:")
            {
                pending_default = values
                    .split(',')
                    .map(str::trim)
                    .find_map(|v| {
                        let lower = v.to_ascii_lowercase();
                        lower.find("[default]").map(|at| v[..at].trim().to_string())
                    })
                    .map(|d| (field.trim().to_string(), d));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let name = rest.split('>').next().unwrap_or("").trim();
            let node = stack.pop().ok_or(format!("line {line_no}: unbalanced"))?;
            if node.name != name {
                return Err(format!("line {line_no}: </{name}> closes <{}>", node.name));
            }
            stack
                .last_mut()
                .ok_or(format!("line {line_no}: unbalanced"))?
                .children
                .push(node);
            continue;
        }
        let Some(rest) = line.strip_prefix('<') else {
            return Err(format!("line {line_no}: unexpected text {line:?}"));
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            return Err(format!("line {line_no}: cannot read a tag in {line:?}"));
        }
        let (tag_part, comment) = match line.find("<!--") {
            Some(at) => (
                &line[..at],
                Some(line[at + 4..].trim_end_matches("-->").trim()),
            ),
            None => (line, None),
        };
        let tag_part = tag_part.trim();
        let mut ann = match comment {
            Some(c) => parse_ann(c).map_err(|e| format!("line {line_no}: {e}"))?,
            None => Ann::default(),
        };
        if let Some((field, default)) = pending_default.take() {
            if field == name {
                ann.default = Some(default);
            }
        }
        for (_, g) in groups.iter().filter(|(d, _)| *d == stack.len()) {
            ann.intro = ann.intro.max(g.intro);
            ann.not_in_qbd |= g.not_in_qbd;
        }
        let node = OpsNode {
            name: name.clone(),
            ann,
            children: Vec::new(),
            line: line_no,
        };
        let closes_here = tag_part.ends_with("/>") || tag_part.ends_with(&format!("</{name}>"));
        if closes_here {
            stack
                .last_mut()
                .ok_or(format!("line {line_no}: unbalanced"))?
                .children
                .push(node);
        } else {
            stack.push(node);
        }
    }
    let mut top = stack.pop().ok_or("empty")?;
    if !stack.is_empty() {
        return Err(format!("unclosed <{}>", top.name));
    }
    top.children.pop().ok_or_else(|| "no root".to_string())
}

fn editions_include_qbd(list: &str) -> bool {
    list.split('|').any(|e| e.trim() == "QBD")
}

/// Annotations that carry nothing the validator needs.
const IGNORED: &[&str] = &["may be macro value"];

fn number(v: &str, tok: &str) -> Result<String, String> {
    let v = v.trim();
    v.parse::<f64>()
        .map(|_| v.to_string())
        .map_err(|_| format!("bad {tok:?}"))
}

fn parse_ann(comment: &str) -> Result<Ann, String> {
    let mut ann = Ann::default();
    for tok in comment.split(", ").map(str::trim) {
        if tok.is_empty()
            || tok == "opt"
            || tok == "may rep"
            || tok == "rep (1 or more)"
            || tok.starts_with("BEGIN OR")
            || tok.starts_with("END OR")
            || tok == "OR"
        {
            continue;
        }
        if let Some(v) = tok.strip_prefix("max length = ") {
            let (n, editions) = match v.split_once(" for ") {
                Some((n, e)) => (n, Some(e)),
                None => (v, None),
            };
            let n: u32 = n
                .trim()
                .parse()
                .map_err(|_| format!("bad max length {tok:?}"))?;
            if editions.is_none_or(editions_include_qbd) {
                ann.qbd_max_len = Some(n);
            }
        } else if let Some(list) = tok.strip_prefix("not in ") {
            if editions_include_qbd(list) {
                ann.not_in_qbd = true;
            }
        } else if let Some(v) = tok.strip_prefix("min value = ") {
            ann.min_value = Some(number(v, tok)?);
        } else if let Some(v) = tok.strip_prefix("max value = ") {
            ann.max_value = Some(number(v, tok)?);
        } else if let Some(v) = tok.strip_prefix('v') {
            let (maj, min) = v.split_once('.').ok_or(format!("bad version {tok:?}"))?;
            let maj: u8 = maj.parse().map_err(|_| format!("bad version {tok:?}"))?;
            let min: u8 = min.parse().map_err(|_| format!("bad version {tok:?}"))?;
            ann.intro = Some(maj * 10 + min);
        } else {
            if IGNORED.iter().any(|i| tok.starts_with(i)) {
                continue;
            }
            return Err(format!("unknown annotation {tok:?} in {comment:?}"));
        }
    }
    Ok(ann)
}

#[derive(Default)]
pub struct Report {
    reached: usize,
    unmatched: Vec<String>,
    conflicts: Vec<String>,
    xsd_vs_ops_len: usize,
    leaves: usize,
    carried: usize,
    new_leaves: usize,
    new_requests: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.carried + self.new_leaves > 0 {
            write!(
                f,
                "{} leaves: {} carried over from 13.0, {} new (introduced 14.0 assumed); {} new request types",
                self.leaves,
                self.carried,
                self.new_leaves,
                self.new_requests.len()
            )?;
            return Ok(());
        }
        write!(
            f,
            "ops file reached {}/{} leaves; {} ops elements unmatched; {} leaves with conflicting facts in different contexts (merged leniently); {} QBD max lengths differ from the XSD",
            self.reached,
            self.leaves,
            self.unmatched.len(),
            self.conflicts.len(),
            self.xsd_vs_ops_len
        )?;
        for u in self.unmatched.iter().take(10) {
            write!(f, "\n  unmatched: {u}")?;
        }
        for c in self
            .conflicts
            .iter()
            .take(if std::env::var_os("GEN_VERBOSE").is_some() {
                usize::MAX
            } else {
                10
            })
        {
            write!(f, "\n  conflict: {c}")?;
        }
        Ok(())
    }
}

/// Walk the ops tree alongside the schema and record each field's facts on
/// the content-model leaf it corresponds to.
pub fn annotate(schema: &mut Schema, ops: &OpsNode) -> Result<Report, String> {
    let mut report = Report::default();
    if ops.name != schema.decls[schema.root].name {
        return Err(format!("ops root is {}", ops.name));
    }
    walk(schema, schema.root, ops, "QBXML", &mut report);
    report.leaves = schema.models.iter().map(|m| m.leaves.len()).sum();
    report.reached = schema
        .models
        .iter()
        .flat_map(|m| &m.leaves)
        .filter(|l| l.ann.seen)
        .count();
    for m in &schema.models {
        for l in &m.leaves {
            if let (Some(ops_len), crate::xsd::Content::Simple(s)) =
                (l.ann.qbd_max_len, &schema.decls[l.decl].content)
            {
                if s.max_len.is_some_and(|x| x != ops_len) {
                    report.xsd_vs_ops_len += 1;
                }
            }
        }
    }
    Ok(report)
}

fn walk(schema: &mut Schema, decl: usize, node: &OpsNode, path: &str, report: &mut Report) {
    let Some(model) = schema.model_of(decl) else {
        if !node.children.is_empty() {
            report.unmatched.push(format!(
                "{path}: ops has children, XSD has a simple type (line {})",
                node.line
            ));
        }
        return;
    };
    let mut used = vec![false; schema.models[model].leaves.len()];
    for child in &node.children {
        let leaves = &schema.models[model].leaves;
        let by_name = |i: &usize| schema.decls[leaves[*i].decl].name == child.name;
        let pick = (0..leaves.len())
            .filter(by_name)
            .find(|i| !used[*i])
            .or_else(|| (0..leaves.len()).find(by_name));
        let child_path = format!("{path}/{}", child.name);
        let Some(i) = pick else {
            report
                .unmatched
                .push(format!("{child_path} (line {})", child.line));
            continue;
        };
        used[i] = true;
        let leaf = &mut schema.models[model].leaves[i];
        let mut new = child.ann.clone();
        new.seen = true;
        if leaf.ann.seen && leaf.ann != new {
            // A missing QBD length is "no fact here" (the parent is not in
            // QBD); only disagreements between facts are worth reporting.
            let lens_differ =
                matches!((leaf.ann.qbd_max_len, new.qbd_max_len), (Some(a), Some(b)) if a != b);
            if leaf.ann.intro != new.intro || leaf.ann.not_in_qbd != new.not_in_qbd || lens_differ {
                report.conflicts.push(format!(
                    "{child_path} (line {}): {:?} vs {:?}",
                    child.line, leaf.ann, new
                ));
            }
            // Lenient merge: never reject what any context accepts.
            let old = leaf.ann.clone();
            new.intro = match (old.intro, new.intro) {
                (Some(a), Some(b)) => Some(a.min(b)),
                _ => None,
            };
            // A context whose parent is not in QuickBooks Desktop carries no
            // QBD length: that is "no fact here", not "unlimited".
            new.qbd_max_len = match (old.qbd_max_len, new.qbd_max_len) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            new.not_in_qbd = old.not_in_qbd && new.not_in_qbd;
            new.default = old.default.or(new.default);
            new.min_value = old.min_value.or(new.min_value);
            new.max_value = old.max_value.or(new.max_value);
        }
        leaf.ann = new;
        let child_decl = leaf.decl;
        walk(schema, child_decl, child, &child_path, report);
    }
}

/// 16.0: copy each leaf's 13.0 facts by key; leaves 13.0 did not have are
/// marked as introduced in `new_intro`.
pub fn carry_over(old: &Schema, new: &mut Schema, new_intro: u8) -> Report {
    let mut by_key: HashMap<&str, &Ann> = HashMap::new();
    for m in &old.models {
        for l in &m.leaves {
            by_key.insert(l.key.as_str(), &l.ann);
        }
    }
    let mut report = Report::default();
    for m in &mut new.models {
        for l in &mut m.leaves {
            report.leaves += 1;
            match by_key.get(l.key.as_str()) {
                Some(ann) => {
                    l.ann = (*ann).clone();
                    report.carried += 1;
                }
                None => {
                    l.ann.intro = Some(new_intro);
                    report.new_leaves += 1;
                    if m.owner == "QBXMLMsgsRq" {
                        report.new_requests.push(new.decls[l.decl].name.clone());
                    }
                }
            }
        }
    }
    report
}
