//! Compile Intuit's qbXML XSDs into a small intermediate form: element
//! declarations, simple types, and per content-model leaf lists.
//!
//! Only the XSD subset Intuit uses is supported (sequence, choice, group refs,
//! element refs, inline simple types with maxLength / enumeration /
//! min/maxInclusive, simpleContent extensions, attributes). Anything else is
//! reported as an error rather than silently skipped.

use crate::dom::{self, Node};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Str,
    Id,
    Bool,
    Date,
    DateTime,
    TimeInterval,
    Amt,
    Price,
    Quan,
    Percent,
    Int,
    Guid,
    Uuid,
    Macro,
    Float,
    Enum,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Simple {
    pub kind: Kind,
    pub max_len: Option<u32>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub enums: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Attr {
    pub name: String,
    pub ty: Simple,
    pub required: bool,
    pub default: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Particle {
    /// Index into the owning model's `leaves`.
    Leaf { leaf: usize },
    Seq {
        items: Vec<Particle>,
        min: u32,
        max: Option<u32>,
    },
    Choice {
        items: Vec<Particle>,
        min: u32,
        max: Option<u32>,
    },
}

/// Facts about one leaf of a content model that come from the annotated ops
/// file rather than the XSD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ann {
    /// qbXML version that introduced the element here, as major*10+minor.
    pub intro: Option<u8>,
    pub qbd_max_len: Option<u32>,
    pub not_in_qbd: bool,
    pub default: Option<String>,
    /// Inclusive value range ("min value = .001"), kept as written.
    pub min_value: Option<String>,
    pub max_value: Option<String>,
    /// Set once the ops walk reached this leaf.
    pub seen: bool,
}

#[derive(Clone, Debug)]
pub struct Leaf {
    pub decl: usize,
    pub min: u32,
    pub max: Option<u32>,
    /// Stable identity across schema versions: owner key, name, occurrence.
    pub key: String,
    pub ann: Ann,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub owner: String,
    pub particle: Option<Particle>,
    pub leaves: Vec<Leaf>,
}

#[derive(Clone, Debug)]
pub enum Content {
    Empty,
    Simple(Simple),
    Complex { model: usize, attrs: Vec<Attr> },
    SimpleAttrs(Simple, Vec<Attr>),
}

#[derive(Clone, Debug)]
pub struct Decl {
    pub name: String,
    pub content: Content,
}

pub struct Schema {
    pub decls: Vec<Decl>,
    pub models: Vec<Model>,
    pub root: usize,
}

impl Schema {
    pub fn model_of(&self, decl: usize) -> Option<usize> {
        match &self.decls[decl].content {
            Content::Complex { model, .. } => Some(*model),
            _ => None,
        }
    }
}

struct Defs<'a> {
    elements: HashMap<String, &'a Node>,
    complex: HashMap<String, &'a Node>,
    simple: HashMap<String, &'a Node>,
    groups: HashMap<String, &'a Node>,
}

struct Compiler<'a> {
    defs: Defs<'a>,
    decls: Vec<Decl>,
    models: Vec<Model>,
    global: HashMap<String, usize>,
    named_models: HashMap<String, usize>,
}

fn load_all(path: &Path, out: &mut Vec<Node>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let root = dom::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for inc in root.elems().filter(|n| n.name == "include") {
        let loc = inc
            .attr("schemaLocation")
            .ok_or("include without schemaLocation")?;
        load_all(&dir.join(loc), out)?;
    }
    out.push(root);
    Ok(())
}

pub fn compile(entry: &Path) -> Result<Schema, String> {
    let mut roots = Vec::new();
    load_all(entry, &mut roots)?;
    let mut defs = Defs {
        elements: HashMap::new(),
        complex: HashMap::new(),
        simple: HashMap::new(),
        groups: HashMap::new(),
    };
    for root in &roots {
        for n in root.elems() {
            let Some(name) = n.attr("name") else { continue };
            let map = match n.name.as_str() {
                "element" => &mut defs.elements,
                "complexType" => &mut defs.complex,
                "simpleType" => &mut defs.simple,
                "group" => &mut defs.groups,
                other => return Err(format!("unsupported top-level xsd:{other}")),
            };
            if map.insert(name.to_string(), n).is_some() {
                return Err(format!("duplicate definition of {name}"));
            }
        }
    }
    let mut c = Compiler {
        defs,
        decls: Vec::new(),
        models: Vec::new(),
        global: HashMap::new(),
        named_models: HashMap::new(),
    };
    let root = c.global_decl("QBXML")?;
    Ok(Schema {
        decls: c.decls,
        models: c.models,
        root,
    })
}

fn occurs(n: &Node) -> Result<(u32, Option<u32>), String> {
    let min = match n.attr("minOccurs") {
        Some(v) => v.parse().map_err(|_| format!("bad minOccurs {v}"))?,
        None => 1,
    };
    let max = match n.attr("maxOccurs") {
        Some("unbounded") => None,
        Some(v) => Some(v.parse().map_err(|_| format!("bad maxOccurs {v}"))?),
        None => Some(1),
    };
    Ok((min, max))
}

fn builtin(name: &str) -> Option<Simple> {
    let (kind, max_len) = match name {
        "IDTYPE" => (Kind::Id, Some(36)),
        "STRTYPE" => (Kind::Str, None),
        "BOOLTYPE" => (Kind::Bool, None),
        "DATETYPE" => (Kind::Date, None),
        "DATETIMETYPE" => (Kind::DateTime, None),
        "TIMEINTERVALTYPE" => (Kind::TimeInterval, None),
        "AMTTYPE" => (Kind::Amt, None),
        "PRICETYPE" => (Kind::Price, None),
        "QUANTYPE" => (Kind::Quan, None),
        "PERCENTTYPE" => (Kind::Percent, None),
        "ENUMTYPE" => (Kind::Enum, None),
        "INTTYPE" => (Kind::Int, None),
        "GUIDTYPE" => (Kind::Guid, None),
        "UUIDTYPE" => (Kind::Uuid, None),
        "MACROTYPE" => (Kind::Macro, None),
        "FLOATTYPE" => (Kind::Float, None),
        _ => return None,
    };
    Some(Simple {
        kind,
        max_len,
        min: None,
        max: None,
        enums: Vec::new(),
    })
}

impl<'a> Compiler<'a> {
    fn simple_type(&self, n: &Node) -> Result<Simple, String> {
        // <xsd:simpleType><xsd:restriction base="..."> facets </></>
        let r = n
            .elems()
            .find(|c| c.name == "restriction")
            .ok_or("simpleType without restriction")?;
        let base = r.attr("base").ok_or("restriction without base")?;
        let mut s = self.named_simple(base)?;
        for f in r.elems() {
            let v = f.attr("value").unwrap_or("");
            let num = || v.parse::<i64>().map_err(|_| format!("bad facet value {v}"));
            match f.name.as_str() {
                "maxLength" => {
                    s.max_len = Some(v.parse().map_err(|_| format!("bad maxLength {v}"))?)
                }
                "enumeration" => {
                    s.kind = Kind::Enum;
                    s.enums.push(v.to_string());
                }
                "minInclusive" => s.min = Some(num()?),
                "maxInclusive" => s.max = Some(num()?),
                other => return Err(format!("unsupported facet {other}")),
            }
        }
        Ok(s)
    }

    fn named_simple(&self, name: &str) -> Result<Simple, String> {
        if let Some(s) = builtin(name) {
            return Ok(s);
        }
        let n = self
            .defs
            .simple
            .get(name)
            .ok_or_else(|| format!("unknown simple type {name}"))?;
        self.simple_type(n)
    }

    fn attribute(&self, n: &Node) -> Result<Attr, String> {
        let name = n.attr("name").ok_or("attribute without name")?.to_string();
        let ty = match n.attr("type") {
            Some(t) => self.named_simple(t)?,
            None => match n.elems().find(|c| c.name == "simpleType") {
                Some(st) => self.simple_type(st)?,
                None => builtin("STRTYPE").ok_or("no STRTYPE")?,
            },
        };
        Ok(Attr {
            name,
            ty,
            required: n.attr("use") == Some("required"),
            default: n.attr("default").map(str::to_string),
        })
    }

    fn global_decl(&mut self, name: &str) -> Result<usize, String> {
        if let Some(&id) = self.global.get(name) {
            return Ok(id);
        }
        let n = *self
            .defs
            .elements
            .get(name)
            .ok_or_else(|| format!("unknown element {name}"))?;
        self.element_decl(n, name.to_string(), true)
    }

    /// Compile an element declaration (global or local) into a decl.
    fn element_decl(&mut self, n: &'a Node, key: String, global: bool) -> Result<usize, String> {
        let name = n.attr("name").ok_or("element without name")?.to_string();
        let id = self.decls.len();
        self.decls.push(Decl {
            name: name.clone(),
            content: Content::Empty,
        });
        if global {
            self.global.insert(name.clone(), id);
        }
        let content = if let Some(t) = n.attr("type") {
            if let Some(s) = builtin(t) {
                Content::Simple(s)
            } else if self.defs.simple.contains_key(t) {
                Content::Simple(self.named_simple(t)?)
            } else {
                let ct = *self
                    .defs
                    .complex
                    .get(t)
                    .ok_or_else(|| format!("unknown type {t}"))?;
                self.complex(ct, format!("T:{t}"), Some(t))?
            }
        } else if let Some(st) = n.elems().find(|c| c.name == "simpleType") {
            Content::Simple(self.simple_type(st)?)
        } else if let Some(ct) = n.elems().find(|c| c.name == "complexType") {
            self.complex(ct, key, None)?
        } else {
            // No type at all: xsd:anyType; Intuit does not do this.
            return Err(format!("element {name} has no type"));
        };
        self.decls[id].content = content;
        Ok(id)
    }

    fn complex(
        &mut self,
        ct: &'a Node,
        owner: String,
        named: Option<&str>,
    ) -> Result<Content, String> {
        if let Some(sc) = ct.elems().find(|c| c.name == "simpleContent") {
            let ext = sc
                .elems()
                .find(|c| c.name == "extension")
                .ok_or("simpleContent without extension")?;
            let base = self.named_simple(ext.attr("base").ok_or("extension without base")?)?;
            let attrs = ext
                .elems()
                .filter(|c| c.name == "attribute")
                .map(|a| self.attribute(a))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Content::SimpleAttrs(base, attrs));
        }
        let attrs = ct
            .elems()
            .filter(|c| c.name == "attribute")
            .map(|a| self.attribute(a))
            .collect::<Result<Vec<_>, _>>()?;
        let model = match named.and_then(|t| self.named_models.get(t)) {
            Some(&m) => m,
            None => {
                let m = self.models.len();
                self.models.push(Model {
                    owner: owner.clone(),
                    particle: None,
                    leaves: Vec::new(),
                });
                if let Some(t) = named {
                    self.named_models.insert(t.to_string(), m);
                }
                let body: Vec<&'a Node> = ct
                    .elems()
                    .filter(|c| c.name != "attribute" && c.name != "annotation")
                    .collect();
                let particle = match body.as_slice() {
                    [] => None,
                    [one] => self.particle(one, m)?,
                    _ => return Err(format!("{owner}: complexType with several model groups")),
                };
                self.models[m].particle = particle;
                m
            }
        };
        if self.models[model].particle.is_none() && attrs.is_empty() {
            return Ok(Content::Empty);
        }
        Ok(Content::Complex { model, attrs })
    }

    fn particle(&mut self, n: &'a Node, model: usize) -> Result<Option<Particle>, String> {
        let (min, max) = occurs(n)?;
        if max == Some(0) {
            return Ok(None); // prohibited particle
        }
        match n.name.as_str() {
            "element" => {
                let decl = if let Some(r) = n.attr("ref") {
                    self.global_decl(r)?
                } else {
                    let name = n.attr("name").ok_or("element without name")?;
                    let owner = &self.models[model].owner;
                    let key = format!("{owner}/{name}");
                    self.element_decl(n, key, false)?
                };
                let name = self.decls[decl].name.clone();
                let m = &mut self.models[model];
                let nth = m
                    .leaves
                    .iter()
                    .filter(|l| self.decls[l.decl].name == name)
                    .count();
                let key = format!("{}#{}#{}", m.owner, name, nth);
                m.leaves.push(Leaf {
                    decl,
                    min,
                    max,
                    key,
                    ann: Ann::default(),
                });
                Ok(Some(Particle::Leaf {
                    leaf: m.leaves.len() - 1,
                }))
            }
            "group" => {
                let r = n.attr("ref").ok_or("group without ref")?;
                let g = *self
                    .defs
                    .groups
                    .get(r)
                    .ok_or_else(|| format!("unknown group {r}"))?;
                let inner: Vec<&'a Node> = g.elems().filter(|c| c.name != "annotation").collect();
                let [one] = inner.as_slice() else {
                    return Err(format!("group {r} must hold one model group"));
                };
                let p = self.particle(one, model)?;
                // Apply the ref's occurrence to the group's content.
                Ok(p.map(|p| wrap(p, min, max)))
            }
            "sequence" | "choice" => {
                let mut items = Vec::new();
                for c in n.elems().filter(|c| c.name != "annotation") {
                    if let Some(p) = self.particle(c, model)? {
                        items.push(p);
                    }
                }
                Ok(Some(if n.name == "sequence" {
                    Particle::Seq { items, min, max }
                } else {
                    Particle::Choice { items, min, max }
                }))
            }
            other => Err(format!("unsupported particle xsd:{other}")),
        }
    }
}

fn wrap(p: Particle, min: u32, max: Option<u32>) -> Particle {
    if min == 1 && max == Some(1) {
        return p;
    }
    Particle::Seq {
        items: vec![p],
        min,
        max,
    }
}
