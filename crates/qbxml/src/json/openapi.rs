//! The OpenAPI 3.1 document of the JSON form, generated from the schema
//! tables: a component per element with children (per version), every
//! property typed as the JSON form writes it, with the facts Intuit's
//! schema and ops file give (maximum lengths, enumerations, defaults,
//! value ranges, the version that introduced an element, what QuickBooks
//! Desktop does not support). `cargo xtask gen-openapi` writes it to
//! docs/openapi.json; the server serves it at `/openapi.json`.

use super::{scalar_of, Scalar, ORDER, TEXT};
use crate::schema::{ContentKind, Decl, Kind, Position, Schema, SimpleType, START};
use crate::version::Version;
use std::collections::{BTreeMap, HashMap};

/// A JSON value being built (ordered members), written pretty.
#[derive(Clone)]
enum J {
    Str(String),
    Int(i64),
    Bool(bool),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn s(v: &str) -> J {
    J::Str(v.to_string())
}

fn obj(members: Vec<(&str, J)>) -> J {
    J::Obj(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn reference(name: &str) -> J {
    obj(vec![("$ref", s(&format!("#/components/schemas/{name}")))])
}

impl J {
    fn write(&self, out: &mut String, indent: usize) {
        match self {
            J::Str(v) => super::value::write_string(out, v),
            J::Int(n) => out.push_str(&n.to_string()),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Arr(items) => {
                // Arrays of scalars (enumerations, required lists) on one line.
                if items.iter().all(|i| matches!(i, J::Str(_) | J::Int(_))) {
                    out.push('[');
                    for (n, i) in items.iter().enumerate() {
                        if n > 0 {
                            out.push_str(", ");
                        }
                        i.write(out, indent);
                    }
                    out.push(']');
                    return;
                }
                out.push('[');
                for (n, i) in items.iter().enumerate() {
                    out.push_str(if n > 0 { ",\n" } else { "\n" });
                    pad(out, indent + 1);
                    i.write(out, indent + 1);
                }
                out.push('\n');
                pad(out, indent);
                out.push(']');
            }
            J::Obj(members) if members.is_empty() => out.push_str("{}"),
            J::Obj(members) => {
                out.push('{');
                for (n, (k, v)) in members.iter().enumerate() {
                    out.push_str(if n > 0 { ",\n" } else { "\n" });
                    pad(out, indent + 1);
                    super::value::write_string(out, k);
                    out.push_str(": ");
                    v.write(out, indent + 1);
                }
                out.push('\n');
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// The whole document, as pretty JSON text (deterministic).
pub fn openapi() -> String {
    let mut schemas: Vec<(String, J)> = Vec::new();
    let mut docs = Vec::new();
    for version in [Version::V13_0, Version::V16_0] {
        let mut g = Gen::new(Schema::for_version(version));
        let root = g.component(g.schema.root());
        let prefix = g.prefix.clone();
        let versions: Vec<J> = Version::SUPPORTED
            .iter()
            .filter(|v| Schema::for_version(**v).version() == version)
            .map(|v| s(&v.to_string()))
            .collect();
        let doc_name = format!("{prefix}.Document");
        schemas.push((
            doc_name.clone(),
            obj(vec![
                ("type", s("object")),
                (
                    "description",
                    s(&format!(
                        "A qbXML document in the JSON form, for qbXML versions validated by Intuit's {version} schema."
                    )),
                ),
                ("required", J::Arr(vec![s("version"), s("QBXML")])),
                (
                    "properties",
                    obj(vec![
                        ("version", obj(vec![("type", s("string")), ("enum", J::Arr(versions))])),
                        ("QBXML", reference(&root)),
                    ]),
                ),
                ("additionalProperties", J::Bool(false)),
            ]),
        ));
        docs.push(doc_name);
        schemas.extend(g.out);
    }
    schemas.push((
        "Error".into(),
        obj(vec![
            ("type", s("object")),
            ("description", s("Why the connector refused a request (docs/PROTOCOL.md §3). The same code is in the X-QB-Error-Code header.")),
            ("required", J::Arr(vec![s("code"), s("message")])),
            (
                "properties",
                obj(vec![
                    ("code", obj(vec![("type", s("string")), ("description", s("A connector code (QBC_…) or QuickBooks' HRESULT (0x80040400)."))])),
                    ("message", obj(vec![("type", s("string"))])),
                    ("path", obj(vec![("type", s("string")), ("description", s("The JSON path of the member at fault, when the document does not fit the schema."))])),
                ]),
            ),
        ]),
    ));
    let any_doc = || {
        obj(vec![(
            "oneOf",
            J::Arr(docs.iter().map(|d| reference(d)).collect()),
        )])
    };
    let error = |d: &str| {
        obj(vec![
            ("description", s(d)),
            (
                "content",
                obj(vec![(
                    "application/json",
                    obj(vec![("schema", reference("Error"))]),
                )]),
            ),
        ])
    };
    let header = |name: &str, d: &str| {
        obj(vec![
            ("name", s(name)),
            ("in", s("header")),
            ("required", J::Bool(false)),
            ("description", s(d)),
            ("schema", obj(vec![("type", s("string"))])),
        ])
    };
    let json_post = obj(vec![
        ("operationId", s("sendJson")),
        ("summary", s("Send a qbXML message set as JSON; get QuickBooks' answer as JSON")),
        ("description", s("The JSON form of qbXML (docs/PROTOCOL.md §14): the same users, read-only rule, sessions, iterators, error recovery and errors as POST / with qbXML.")),
        (
            "parameters",
            J::Arr(vec![
                header("X-QB-Ticket", "A persistent session's ticket (POST /session)."),
                header("X-QB-Connection", "Connection settings (company file, mode) for this request."),
                header("X-QB-Timeout", "Seconds to wait for QuickBooks, if less than the backend timeout."),
            ]),
        ),
        (
            "requestBody",
            obj(vec![
                ("required", J::Bool(true)),
                ("content", obj(vec![("application/json", obj(vec![("schema", any_doc())]))])),
            ]),
        ),
        (
            "responses",
            obj(vec![
                (
                    "200",
                    obj(vec![
                        ("description", s("QuickBooks' answer: each request's status is in its response's @statusCode.")),
                        ("content", obj(vec![("application/json", obj(vec![("schema", any_doc())]))])),
                    ]),
                ),
                ("400", error("Not JSON, or JSON that does not fit the schema (code 0x80040400, with the member's path).")),
                ("401", error("No or wrong credentials.")),
                ("403", error("A read-only user's write, or an address or company file not allowed.")),
                ("405", error("Another method than POST (the body is the connector's XML error).")),
                ("413", error("Larger than the connector's max_request_bytes.")),
                ("415", error("Not Content-Type: application/json.")),
                ("429", error("Too many failed logins: wait Retry-After seconds.")),
                ("500", error("An event handler of the program embedding the connector failed.")),
                ("502", error("QuickBooks failed, or answered with text that does not convert (the request may have been carried out).")),
                ("503", error("The company file is busy or QuickBooks is unavailable.")),
                ("504", error("QuickBooks did not answer in time; the outcome is unknown.")),
            ]),
        ),
    ]);
    let spec_get = obj(vec![
        ("operationId", s("openapi")),
        ("summary", s("This document")),
        ("security", J::Arr(Vec::new())),
        (
            "responses",
            obj(vec![(
                "200",
                obj(vec![
                    ("description", s("The OpenAPI document")),
                    (
                        "content",
                        obj(vec![(
                            "application/json",
                            obj(vec![("schema", obj(vec![("type", s("object"))]))]),
                        )]),
                    ),
                ]),
            )]),
        ),
    ]);
    let doc = obj(vec![
        ("openapi", s("3.1.0")),
        (
            "info",
            obj(vec![
                ("title", s("QBConnector: qbXML as JSON")),
                ("version", s(env!("CARGO_PKG_VERSION"))),
                ("description", s("QuickBooks Desktop's qbXML API as JSON, derived from Intuit's qbXML 13.0 and 16.0 schemas. Element names are qbXML's; attributes are members named @name; a name the schema allows more than once is always an array; amounts are exact decimal strings; #order gives the order of interleaved elements (invoice lines and line groups, report rows).")),
                ("license", obj(vec![("name", s("MIT OR Apache-2.0")), ("identifier", s("MIT OR Apache-2.0"))])),
            ]),
        ),
        ("security", J::Arr(vec![obj(vec![("basic", J::Arr(Vec::new()))])])),
        (
            "paths",
            obj(vec![
                ("/json", obj(vec![("post", json_post)])),
                ("/openapi.json", obj(vec![("get", spec_get)])),
            ]),
        ),
        (
            "components",
            obj(vec![
                ("securitySchemes", obj(vec![("basic", obj(vec![("type", s("http")), ("scheme", s("basic"))]))])),
                ("schemas", J::Obj(schemas)),
            ]),
        ),
    ]);
    let mut out = String::with_capacity(8 << 20);
    doc.write(&mut out, 0);
    out.push('\n');
    out
}

/// One version's components.
struct Gen {
    schema: Schema,
    prefix: String,
    /// Component name of each declaration already named.
    names: HashMap<u32, String>,
    taken: HashMap<String, u32>,
    out: Vec<(String, J)>,
}

impl Gen {
    fn new(schema: Schema) -> Gen {
        let v = schema.version();
        Gen {
            schema,
            prefix: format!("v{}", v.major()),
            names: HashMap::new(),
            taken: HashMap::new(),
            out: Vec::new(),
        }
    }

    /// The component of an element with children (or attributes),
    /// generated on first use; its name.
    fn component(&mut self, d: Decl) -> String {
        if let Some(n) = self.names.get(&d.id()) {
            return n.clone();
        }
        let base = format!("{}.{}", self.prefix, d.name());
        let n = self.taken.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 { base } else { format!("{base}.{n}") };
        self.names.insert(d.id(), name.clone());
        let body = self.object(d);
        self.out.push((name.clone(), body));
        name
    }

    fn object(&mut self, d: Decl) -> J {
        let mut props: Vec<(String, J)> = Vec::new();
        let mut required: Vec<J> = Vec::new();
        for a in d.attributes() {
            let mut sch = scalar(a.simple_type(), None, (None, None));
            if let (Some(def), J::Obj(m)) = (a.default(), &mut sch) {
                m.push(("default".into(), typed_default(a.simple_type().kind(), def)));
            }
            props.push((format!("@{}", a.name()), sch));
            if a.required() {
                required.push(s(&format!("@{}", a.name())));
            }
        }
        // An element with text and attributes: its text's schema, as
        // `#text` of the object and alone when there are no attributes.
        let text = matches!(d.content(), ContentKind::SimpleWithAttributes).then(|| {
            d.simple_type().map_or_else(
                || obj(vec![("type", s("string"))]),
                |t| scalar(t, None, (None, None)),
            )
        });
        if let Some(t) = &text {
            props.push((TEXT.into(), t.clone()));
        }
        let children: Vec<Position> = d.children().collect();
        let read_only = self.read_only(d);
        for p in &children {
            let mut sch = self.child(*p);
            if let J::Obj(m) = &mut sch {
                if let Some(desc) = describe(*p) {
                    m.push(("description".into(), s(&desc)));
                }
                if p.not_in_desktop() {
                    m.push(("x-qbxml-not-in-desktop".into(), J::Bool(true)));
                }
                if read_only
                    .as_ref()
                    .is_some_and(|add| !add.contains(&p.name()))
                {
                    m.push(("readOnly".into(), J::Bool(true)));
                }
            }
            props.push((p.name().to_string(), sch));
        }
        for n in required_children(d) {
            required.push(s(n));
        }
        // The names of interleaved groups, which #order lists.
        let mut groups: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for p in children.iter().filter(|p| p.repeats()) {
            groups.entry(p.sort_key()).or_default().push(p.name());
        }
        let ordered: Vec<J> = groups
            .values()
            .filter(|g| g.len() > 1)
            .flatten()
            .map(|n| s(n))
            .collect();
        if !ordered.is_empty() {
            props.push((
                ORDER.into(),
                obj(vec![
                    ("type", s("array")),
                    ("description", s("The interleaved elements' names in document order (optional on input: without it, each name's items come in schema order).")),
                    ("items", obj(vec![("enum", J::Arr(ordered))])),
                ]),
            ));
        }
        let mut m = vec![("type", s("object"))];
        if !required.is_empty() {
            m.push(("required", J::Arr(required)));
        }
        m.push(("properties", J::Obj(props)));
        m.push(("additionalProperties", J::Bool(false)));
        let object = obj(m);
        if let Some(text) = text {
            // Without attributes, the element is just its text.
            return obj(vec![("oneOf", J::Arr(vec![text, object]))]);
        }
        object
    }

    /// A child's schema: its value's, in an array when it repeats.
    fn child(&mut self, p: Position) -> J {
        let d = p.decl();
        let item = match (d.content(), d.simple_type()) {
            (ContentKind::Simple, Some(t)) => scalar(t, p.max_len(), p.value_range()),
            _ => reference(&self.component(d)),
        };
        if !p.repeats() {
            return item;
        }
        let mut m = vec![("type", s("array")), ("items", item)];
        if let Some(n) = p.max_occurs() {
            m.push(("maxItems", J::Int(i64::from(n))));
        }
        obj(m)
    }

    /// For an `…Ret`: the names its `…Add` has (the rest are set by
    /// QuickBooks: read-only). `None` when there is no `…Add`.
    fn read_only(&self, d: Decl) -> Option<Vec<&'static str>> {
        let base = d.name().strip_suffix("Ret")?;
        let rq = self.schema.request(&format!("{base}AddRq"))?;
        let add = rq.decl().child(&format!("{base}Add"))?.decl();
        Some(add.children().map(|p| p.name()).collect())
    }
}

fn typed_default(kind: Kind, v: &str) -> J {
    match scalar_of(kind) {
        Scalar::Bool if v == "true" || v == "false" => J::Bool(v == "true"),
        Scalar::Int => v.parse().map_or_else(|_| s(v), J::Int),
        _ => s(v),
    }
}

/// A scalar's schema, as the JSON form writes it.
fn scalar(t: SimpleType, max_len: Option<u32>, range: (Option<f64>, Option<f64>)) -> J {
    let mut m: Vec<(&str, J)> = Vec::new();
    match scalar_of(t.kind()) {
        Scalar::Bool => m.push(("type", s("boolean"))),
        Scalar::Int => {
            m.push(("type", s("integer")));
            let lo = t.min().or(range.0.map(|f| f as i64));
            let hi = t.max().or(range.1.map(|f| f as i64));
            if let Some(lo) = lo {
                m.push(("minimum", J::Int(lo)));
            }
            if let Some(hi) = hi {
                m.push(("maximum", J::Int(hi)));
            }
        }
        Scalar::Decimal => {
            // Answers carry the exact text; requests may also send a
            // number (its literal text is kept).
            m.push(("type", J::Arr(vec![s("string"), s("number")])));
            m.push(("pattern", s("^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$")));
            m.push(("x-qbxml-type", s(decimal_name(t.kind()))));
        }
        Scalar::Text => {
            m.push(("type", s("string")));
            let values: Vec<J> = t.values().map(s).collect();
            if !values.is_empty() {
                m.push(("enum", J::Arr(values)));
            } else if let Some(n) = max_len.or(t.max_len()) {
                m.push(("maxLength", J::Int(i64::from(n))));
            }
            match t.kind() {
                Kind::Date => m.push(("format", s("date"))),
                Kind::DateTime => m.push(("x-qbxml-type", s("DATETIMETYPE"))),
                Kind::Id => m.push(("x-qbxml-type", s("IDTYPE"))),
                _ => {}
            }
        }
    }
    obj(m)
}

fn decimal_name(k: Kind) -> &'static str {
    match k {
        Kind::Amt => "AMTTYPE",
        Kind::Price => "PRICETYPE",
        Kind::Quan => "QUANTYPE",
        Kind::Percent => "PERCENTTYPE",
        _ => "FLOATTYPE",
    }
}

/// What the ops file says of a child here, as a sentence or two.
fn describe(p: Position) -> Option<String> {
    let mut parts = Vec::new();
    if p.introduced() > Version::V1_0 {
        parts.push(format!("Introduced in qbXML {}.", p.introduced()));
    }
    if p.not_in_desktop() {
        parts.push("Not supported by QuickBooks Desktop (other editions only).".to_string());
    }
    if let Some(d) = p.default_value() {
        parts.push(format!("QuickBooks uses {d} when it is absent."));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The children every valid instance has: those without which no path
/// through the content model reaches its end.
fn required_children(d: Decl) -> Vec<&'static str> {
    let Some(model) = d.full_model() else {
        return Vec::new();
    };
    if model.accepts_end(START) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in model.positions() {
        let avoid = model.local(p);
        // Can the end be reached without passing `p`?
        let mut seen = vec![START];
        let mut stack = vec![START];
        let mut avoidable = false;
        while let Some(state) = stack.pop() {
            if model.accepts_end(state) {
                avoidable = true;
                break;
            }
            for q in model.expected(state) {
                let l = model.local(q);
                if l != avoid && !seen.contains(&l) {
                    seen.push(l);
                    stack.push(l);
                }
            }
        }
        if !avoidable {
            out.push(p.name());
        }
    }
    out
}
