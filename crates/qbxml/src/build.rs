//! Building qbXML: an owned element tree ([`Elem`]) that puts its children
//! in schema order, and a request message-set builder on top of it.
//!
//! Callers add children in any order; [`Elem::order_by_schema`] sorts them
//! by the position each has in its parent's content model (stable, so
//! repeated elements and members of repeating groups keep their order).
//! Ordering is what callers get wrong most (it is QuickBooks' 0x80040400).

use crate::doc::Element;
use crate::error::ParseError;
use crate::request::{parse_request, OnError};
use crate::schema::{ChildCursor, Decl, Schema};
use crate::version::Version;
use crate::write;
use std::borrow::Cow;
use std::fmt;

/// An element with either text or children.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Elem {
    pub name: Cow<'static, str>,
    pub attrs: Vec<(Cow<'static, str>, String)>,
    pub text: String,
    pub children: Vec<Elem>,
}

impl Elem {
    pub fn new(name: impl Into<Cow<'static, str>>) -> Elem {
        Elem {
            name: name.into(),
            ..Elem::default()
        }
    }

    /// A text element: `Elem::leaf("Name", "Acme")`.
    pub fn leaf(name: impl Into<Cow<'static, str>>, text: impl Into<String>) -> Elem {
        Elem {
            name: name.into(),
            text: text.into(),
            ..Elem::default()
        }
    }

    pub fn attr(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Elem {
        self.attrs.push((key.into(), value.into()));
        self
    }

    pub fn child(mut self, c: Elem) -> Elem {
        self.children.push(c);
        self
    }

    /// Shorthand for `.child(Elem::leaf(name, text))`.
    pub fn with(self, name: impl Into<Cow<'static, str>>, text: impl Into<String>) -> Elem {
        self.child(Elem::leaf(name, text))
    }

    pub fn push(&mut self, c: Elem) {
        self.children.push(c);
    }

    pub fn get(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn get_attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A copy of a parsed element.
    pub fn from_element(e: Element<'_>) -> Elem {
        Elem {
            name: Cow::Owned(e.name().to_string()),
            attrs: e
                .attrs()
                .map(|(k, v)| (Cow::Owned(k.to_string()), v.to_string()))
                .collect(),
            text: if e.has_children() {
                String::new()
            } else {
                e.text().to_string()
            },
            children: e.children().map(Elem::from_element).collect(),
        }
    }

    /// Sort children (recursively) into the order of `decl`'s content model.
    /// With `version`, an element newer than it is an error.
    pub fn order_by_schema(
        &mut self,
        decl: Decl,
        version: Option<Version>,
    ) -> Result<(), BuildError> {
        self.order_at(decl, version).map_err(|(mut path, detail)| {
            path.reverse();
            BuildError {
                path: path.join("/"),
                detail,
                parse: None,
            }
        })
    }

    /// The work of [`Self::order_by_schema`]. Children already in order
    /// (the usual case: what the simulator stores and renders is) are
    /// left where they are, without allocating; the path of an error is
    /// collected on the way back up, innermost first.
    fn order_at(
        &mut self,
        decl: Decl,
        version: Option<Version>,
    ) -> Result<(), (Vec<String>, String)> {
        let fail = |name: &str, detail: String| (vec![name.to_string()], detail);
        let mut sorted = true;
        let mut last = 0u32;
        let mut cursor = ChildCursor::new(decl);
        for c in &mut self.children {
            let Some(p) = cursor.find(&c.name) else {
                let detail = format!("{} is not a child of {}", c.name, decl.name());
                return Err(fail(&self.name, detail));
            };
            if let Some(v) = version.filter(|v| p.introduced() > *v) {
                let detail = format!(
                    "{} is not in qbXML {v} (introduced in {})",
                    c.name,
                    p.introduced()
                );
                return Err(fail(&self.name, detail));
            }
            if !c.children.is_empty() {
                c.order_at(p.decl(), version).map_err(|(mut path, d)| {
                    path.push(self.name.to_string());
                    (path, d)
                })?;
            }
            let key = p.sort_key();
            sorted &= key >= last;
            last = key;
        }
        if !sorted {
            // Every child was found above.
            self.children
                .sort_by_cached_key(|c| decl.child(&c.name).map_or(u32::MAX, |p| p.sort_key()));
        }
        Ok(())
    }

    /// Fit a record to what `decl` has at `version`, recursively, in one
    /// pass: children the schema does not have there (newer, or unknown)
    /// are dropped, the rest put in schema order. For a record kept in the
    /// newest version and answered in the version asked for.
    pub fn fit_to_schema(&mut self, decl: Decl, version: Version) {
        // The keys found, on the stack for the usual record (spilled to
        // the heap past 64 children).
        let mut small = [0u32; 64];
        let mut spilled: Vec<u32> = Vec::new();
        let mut n = 0usize;
        let mut cursor = ChildCursor::new(decl);
        self.children.retain_mut(|c| match cursor.find(&c.name) {
            Some(p) if p.introduced() <= version => {
                if !c.children.is_empty() {
                    c.fit_to_schema(p.decl(), version);
                }
                let key = p.sort_key();
                if n < small.len() {
                    small[n] = key;
                } else {
                    if spilled.is_empty() {
                        spilled.extend_from_slice(&small);
                    }
                    spilled.push(key);
                }
                n += 1;
                true
            }
            _ => false,
        });
        let keys: &[u32] = if n <= small.len() {
            &small[..n]
        } else {
            &spilled
        };
        if !keys.windows(2).any(|w| w[0] > w[1]) {
            return;
        }
        if n <= small.len() {
            // In place, by the keys found above (no second lookup, no
            // allocation): a stable insertion sort of positions, then the
            // permutation applied by swapping along its cycles.
            let mut order = [0u8; 64];
            for (i, o) in order.iter_mut().enumerate().take(n) {
                *o = i as u8;
            }
            for i in 1..n {
                let mut j = i;
                while j > 0 && keys[order[j - 1] as usize] > keys[order[j] as usize] {
                    order.swap(j - 1, j);
                    j -= 1;
                }
            }
            // `order[i]` is where the element that belongs at `i` is now.
            let mut placed = [false; 64];
            for start in 0..n {
                if placed[start] {
                    continue;
                }
                let mut at = start;
                loop {
                    placed[at] = true;
                    let from = order[at] as usize;
                    if from == start {
                        break;
                    }
                    self.children.swap(at, from);
                    // What was at `at` is now at `from`: follow it.
                    order[at] = at as u8;
                    at = from;
                }
            }
            return;
        }
        // Stable, by the keys found above (no second lookup).
        let mut keyed: Vec<(u32, Elem)> = keys
            .iter()
            .copied()
            .zip(std::mem::take(&mut self.children))
            .collect();
        keyed.sort_by_key(|(k, _)| *k);
        self.children = keyed.into_iter().map(|(_, c)| c).collect();
    }

    /// Write in QuickBooks' style: one element per line, no indentation.
    pub fn write_to(&self, out: &mut String) {
        write::element(out, self);
    }

    pub fn to_xml(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

/// An element the schema does not allow where it was put, or a built
/// request QuickBooks would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    pub path: String,
    pub detail: String,
    /// Set when the built request failed validation.
    pub parse: Option<Box<ParseError>>,
}

impl BuildError {
    fn new(path: &[String], detail: String) -> BuildError {
        BuildError {
            path: path.join("/"),
            detail,
            parse: None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.parse {
            Some(p) => write!(f, "{p}"),
            None => write!(f, "{} (at {})", self.detail, self.path),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds a request message set whose elements are in schema order.
///
/// ```
/// use qbxml::{Elem, OnError, RequestBuilder, Version};
/// let xml = RequestBuilder::new(Version::V13_0)
///     .on_error(OnError::ContinueOnError)
///     .request(
///         Elem::new("CustomerAddRq").attr("requestID", "1").child(
///             Elem::new("CustomerAdd")
///                 .with("Phone", "555-0100") // out of order on purpose
///                 .with("Name", "Acme"),
///         ),
///     )
///     .build()
///     .unwrap();
/// assert!(xml.find("<Name>").unwrap() < xml.find("<Phone>").unwrap());
/// ```
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    version: Version,
    on_error: OnError,
    new_message_set_id: Option<String>,
    old_message_set_id: Option<String>,
    requests: Vec<Elem>,
}

impl RequestBuilder {
    pub fn new(version: Version) -> RequestBuilder {
        RequestBuilder {
            version,
            on_error: OnError::StopOnError,
            new_message_set_id: None,
            old_message_set_id: None,
            requests: Vec::new(),
        }
    }

    pub fn on_error(mut self, on_error: OnError) -> RequestBuilder {
        self.on_error = on_error;
        self
    }

    /// Error recovery: name this message set so its status can be asked for.
    pub fn new_message_set_id(mut self, id: impl Into<String>) -> RequestBuilder {
        self.new_message_set_id = Some(id.into());
        self
    }

    /// Error recovery: ask for the status of an earlier message set.
    pub fn old_message_set_id(mut self, id: impl Into<String>) -> RequestBuilder {
        self.old_message_set_id = Some(id.into());
        self
    }

    /// Add a request (`Elem::new("CustomerQueryRq")…`).
    pub fn request(mut self, rq: Elem) -> RequestBuilder {
        self.requests.push(rq);
        self
    }

    pub fn push(&mut self, rq: Elem) {
        self.requests.push(rq);
    }

    /// The XML, elements in schema order; names are checked against the
    /// schema of the version, values are not (see [`build`](Self::build)).
    pub fn to_xml(&self) -> Result<String, BuildError> {
        let schema = Schema::for_version(self.version);
        let mut msgs = Elem::new("QBXMLMsgsRq");
        if let Some(id) = &self.old_message_set_id {
            msgs = msgs.attr("oldMessageSetID", id.clone());
        }
        if let Some(id) = &self.new_message_set_id {
            msgs = msgs.attr("newMessageSetID", id.clone());
        }
        msgs = msgs.attr("onError", self.on_error.as_str());
        for rq in &self.requests {
            let Some(p) = schema.request(&rq.name) else {
                return Err(BuildError::new(
                    &["QBXML".into(), "QBXMLMsgsRq".into()],
                    format!("{} is not a qbXML request type", rq.name),
                ));
            };
            if p.introduced() > self.version {
                return Err(BuildError::new(
                    &["QBXML".into(), "QBXMLMsgsRq".into()],
                    format!(
                        "{} is not in qbXML {} (introduced in {})",
                        rq.name,
                        self.version,
                        p.introduced()
                    ),
                ));
            }
            let mut rq = rq.clone();
            rq.order_by_schema(p.decl(), Some(self.version))?;
            msgs.push(rq);
        }
        let mut out = String::with_capacity(256);
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?qbxml version=\"");
        out.push_str(&self.version.to_string());
        out.push_str("\"?>\n<QBXML>\n");
        msgs.write_to(&mut out);
        out.push_str("</QBXML>\n");
        Ok(out)
    }

    /// [`to_xml`](Self::to_xml), then validated exactly as a received
    /// request would be: required elements, OR-groups and values included.
    pub fn build(&self) -> Result<String, BuildError> {
        let xml = self.to_xml()?;
        let set = parse_request(xml.as_bytes()).map_err(|e| BuildError {
            path: e.path.clone(),
            detail: e.detail.clone(),
            parse: Some(Box::new(e)),
        })?;
        if let Some(e) = set.requests().find_map(|r| r.error()) {
            return Err(BuildError {
                path: e.path.clone(),
                detail: format!(
                    "QuickBooks would answer status {}: {}",
                    e.status_code, e.message
                ),
                parse: None,
            });
        }
        Ok(xml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    /// Whatever order the children come in, `fit_to_schema` leaves them in
    /// schema order (stably), drops what the version does not have, and
    /// agrees with `order_by_schema` on what it keeps.
    #[test]
    fn fitting_orders_like_ordering() {
        let s = Schema::for_version(Version::V16_0);
        let ret = s
            .response("CustomerQueryRs")
            .and_then(|p| p.decl().child("CustomerRet"))
            .map(|p| p.decl());
        let Some(ret) = ret else {
            panic!("no CustomerRet")
        };
        let names: Vec<&'static str> = ret.children().map(|p| p.name()).collect();
        assert!(names.len() > 40);
        // A few permutations, from a fixed seed.
        let mut seed = 0x9e37_79b9_u64;
        for round in 0..50 {
            let mut shuffled = names.clone();
            for i in (1..shuffled.len()).rev() {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                shuffled.swap(i, (seed >> 33) as usize % (i + 1));
            }
            let mut e = Elem::new("CustomerRet");
            for n in &shuffled {
                e.push(Elem::leaf(*n, format!("{n}-{round}")));
            }
            let mut fitted = e.clone();
            fitted.fit_to_schema(ret, Version::V16_0);
            let mut ordered = e.clone();
            assert!(ordered.order_by_schema(ret, Some(Version::V16_0)).is_ok());
            let got: Vec<&str> = fitted.children.iter().map(|c| c.name.as_ref()).collect();
            let want: Vec<&str> = ordered.children.iter().map(|c| c.name.as_ref()).collect();
            assert_eq!(got, want, "round {round}");
            // Texts travel with their elements.
            assert!(fitted
                .children
                .iter()
                .all(|c| c.text == format!("{}-{round}", c.name)));
        }
        // An older version drops what it does not have.
        let mut e = Elem::new("CustomerRet");
        for n in names.iter().rev() {
            e.push(Elem::leaf(*n, "x"));
        }
        let old = Schema::for_version(Version::V13_0)
            .response("CustomerQueryRs")
            .and_then(|p| p.decl().child("CustomerRet"))
            .map(|p| p.decl());
        let Some(old) = old else {
            panic!("no 13.0 CustomerRet")
        };
        let Some(v2) = Version::new(2, 0) else {
            panic!("no 2.0")
        };
        e.fit_to_schema(old, v2);
        assert!(e.children.len() < names.len(), "{}", e.children.len());
        assert!(e.children.iter().all(|c| c.name != "JobTitle"));
        let mut again = e.clone();
        assert!(again.order_by_schema(old, Some(v2)).is_ok());
        assert_eq!(again, e);
    }
}
