//! Turn the compiled XSD into the flat tables the runtime validator uses:
//! one Glushkov automaton per content model (positions = element leaves,
//! transitions = follow sets), interned names and simple types, and per
//! version "variants" where pruning newer elements changes a model's shape.

use crate::xsd::{Content, Kind, Particle, Schema, Simple};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

pub const BASE_VERSION: u8 = 10;

/// Follow lists at least this long carry a sorted copy (runtime constant of
/// the same name).
pub const SORTED_INDEX_FROM: usize = 16;

pub struct OutSimple {
    pub kind: Kind,
    pub max_len: u32,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub enums: (u32, u32),
}

pub struct OutDecl {
    pub name: u32,
    /// 0 empty, 1 simple, 2 complex, 3 simple content with attributes;
    /// flag 0x80: a required attribute is declared
    pub content: u8,
    pub simple: u32,
    pub attrs: (u32, u32),
    pub variants: (u32, u32),
}

pub struct OutModel {
    pub nullable: bool,
    pub first: (u32, u32),
    pub positions: (u32, u32),
}

pub struct OutPos {
    pub name: u32,
    pub decl: u32,
    pub intro: u8,
    pub not_in_qbd: bool,
    pub last: bool,
    pub max_len: u32,
    pub max_occurs: u32,
    /// May occur more than once in its parent (its own maxOccurs, or a
    /// repeating group around it).
    pub repeats: bool,
    pub sort_key: u32,
    pub follow: (u32, u32),
    pub default: u32,
    /// Index into `value_ranges` (0 = none).
    pub range: u32,
}

pub struct OutAttr {
    pub name: u32,
    pub simple: u32,
    pub required: bool,
    pub default: u32,
}

#[derive(Default)]
pub struct Stats {
    pub decls: usize,
    pub models: usize,
    pub positions: usize,
    pub follows: usize,
    pub ambiguous: Vec<String>,
    pub variant_models: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} decls, {} models ({} with version variants), {} positions, {} follow entries, {} ambiguous follow sets",
            self.decls,
            self.models,
            self.variant_models,
            self.positions,
            self.follows,
            self.ambiguous.len()
        )?;
        for a in self.ambiguous.iter().take(10) {
            write!(f, "\n  ambiguous: {a}")?;
        }
        Ok(())
    }
}

pub struct Out {
    pub version: u8,
    pub names: Vec<String>,
    pub strings: Vec<String>,
    pub simples: Vec<OutSimple>,
    pub decls: Vec<OutDecl>,
    pub variants: Vec<(u8, u32)>,
    pub models: Vec<OutModel>,
    pub positions: Vec<OutPos>,
    pub follows: Vec<(u32, u32)>,
    pub attrs: Vec<OutAttr>,
    pub value_ranges: Vec<(Option<String>, Option<String>)>,
    pub enum_pool: Vec<u32>,
    pub root: u32,
}

type Range = (Option<String>, Option<String>);

fn range_id(r: Range, ranges: &mut Vec<Range>) -> u32 {
    if let Some(i) = ranges.iter().position(|x| *x == r) {
        return i as u32;
    }
    ranges.push(r);
    (ranges.len() - 1) as u32
}

/// A cheap 32-bit key of a name: length, first, middle and last byte. The
/// runtime computes the same key of a tag name and scans a state's follow
/// entries for it, comparing the full name only on a key match.
pub fn name_hash(s: &str) -> u32 {
    let b = s.as_bytes();
    let Some(&last) = b.last() else { return 0 };
    (b.len().min(255) as u32)
        | (u32::from(b[0]) << 8)
        | (u32::from(b[b.len() / 2]) << 16)
        | (u32::from(last) << 24)
}

struct Interner {
    list: Vec<String>,
    map: HashMap<String, u32>,
}

impl Interner {
    fn new() -> Self {
        // Index 0 is reserved for "none".
        let mut i = Interner {
            list: Vec::new(),
            map: HashMap::new(),
        };
        i.get("");
        i
    }
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(s.to_string());
        self.map.insert(s.to_string(), id);
        id
    }
}

/// The result of the Glushkov construction for one (possibly pruned) model.
#[derive(PartialEq, Eq)]
struct Auto {
    first: BTreeSet<usize>,
    last: BTreeSet<usize>,
    nullable: bool,
    follow: Vec<BTreeSet<usize>>,
}

fn glushkov(
    p: &Particle,
    leaves: &[crate::xsd::Leaf],
    allowed: &dyn Fn(usize) -> bool,
    follow: &mut [BTreeSet<usize>],
) -> (BTreeSet<usize>, BTreeSet<usize>, bool) {
    let repeat =
        |first: &BTreeSet<usize>, last: &BTreeSet<usize>, follow: &mut [BTreeSet<usize>]| {
            for &l in last {
                follow[l].extend(first.iter().copied());
            }
        };
    match p {
        Particle::Leaf { leaf } => {
            if !allowed(*leaf) {
                return (BTreeSet::new(), BTreeSet::new(), true);
            }
            let l = &leaves[*leaf];
            let set: BTreeSet<usize> = [*leaf].into();
            if l.max != Some(1) {
                follow[*leaf].insert(*leaf);
            }
            (set.clone(), set, l.min == 0)
        }
        Particle::Seq { items, min, max } => {
            let mut first = BTreeSet::new();
            let mut last: BTreeSet<usize> = BTreeSet::new();
            let mut nullable = true;
            for it in items {
                let (f, l, n) = glushkov(it, leaves, allowed, follow);
                for &x in &last {
                    follow[x].extend(f.iter().copied());
                }
                if nullable {
                    first.extend(f.iter().copied());
                }
                if n {
                    last.extend(l);
                } else {
                    last = l;
                }
                nullable &= n;
            }
            if *max != Some(1) {
                repeat(&first, &last, follow);
            }
            (first, last, nullable || *min == 0)
        }
        Particle::Choice { items, min, max } => {
            let mut first = BTreeSet::new();
            let mut last = BTreeSet::new();
            let mut nullable = items.is_empty();
            for it in items {
                let (f, l, n) = glushkov(it, leaves, allowed, follow);
                first.extend(f);
                last.extend(l);
                nullable |= n;
            }
            if *max != Some(1) {
                repeat(&first, &last, follow);
            }
            (first, last, nullable || *min == 0)
        }
    }
}

fn automaton(m: &crate::xsd::Model, allowed: &dyn Fn(usize) -> bool) -> Auto {
    let mut follow = vec![BTreeSet::new(); m.leaves.len()];
    let (first, last, nullable) = match &m.particle {
        Some(p) => glushkov(p, &m.leaves, allowed, &mut follow),
        None => (BTreeSet::new(), BTreeSet::new(), true),
    };
    Auto {
        first,
        last,
        nullable,
        follow,
    }
}

/// Sort keys: children of a repeating compound particle share one key so a
/// stable sort keeps their relative order; every other leaf gets its own.
/// Also marks which leaves may repeat.
fn sort_keys(
    p: &Particle,
    next: &mut u32,
    shared: Option<u32>,
    keys: &mut [u32],
    max_occ: &mut [u32],
    repeats: &mut [bool],
    leaves: &[crate::xsd::Leaf],
) {
    match p {
        Particle::Leaf { leaf } => {
            repeats[*leaf] = shared.is_some() || leaves[*leaf].max != Some(1);
            keys[*leaf] = shared.unwrap_or_else(|| {
                *next += 1;
                *next
            });
            max_occ[*leaf] = match (shared, leaves[*leaf].max) {
                (None, Some(n)) if n > 1 => n,
                _ => 0,
            };
        }
        Particle::Seq { items, max, .. } | Particle::Choice { items, max, .. } => {
            let shared = match shared {
                Some(k) => Some(k),
                None if *max != Some(1) => {
                    *next += 1;
                    Some(*next)
                }
                None => None,
            };
            for it in items {
                sort_keys(it, next, shared, keys, max_occ, repeats, leaves);
            }
        }
    }
}

fn simple_id(
    s: &Simple,
    simples: &mut Vec<OutSimple>,
    cache: &mut HashMap<Simple, u32>,
    strings: &mut Interner,
    enum_pool: &mut Vec<u32>,
) -> u32 {
    if let Some(&id) = cache.get(s) {
        return id;
    }
    let start = enum_pool.len() as u32;
    for e in &s.enums {
        let id = strings.get(e);
        enum_pool.push(id);
    }
    let id = simples.len() as u32;
    simples.push(OutSimple {
        kind: s.kind,
        max_len: s.max_len.unwrap_or(0),
        min: s.min,
        max: s.max,
        enums: (start, s.enums.len() as u32),
    });
    cache.insert(s.clone(), id);
    id
}

/// Appends a follow list to the pool (deduplicated); returns (start, len).
type PushList<'a> = dyn FnMut(Vec<(u32, u32)>, &mut Vec<(u32, u32)>) -> (u32, u32) + 'a;

pub struct Built {
    pub out: Out,
    pub stats: Stats,
}

pub fn build(schema: &Schema, version: u8) -> Built {
    let mut names = Interner::new();
    let mut strings = Interner::new();
    let mut simples = Vec::new();
    let mut simple_cache = HashMap::new();
    let mut enum_pool = Vec::new();
    let mut stats = Stats {
        decls: schema.decls.len(),
        models: schema.models.len(),
        ..Stats::default()
    };

    // Decls first (models reference decl ids; decl ids are schema indices).
    let mut decls = Vec::with_capacity(schema.decls.len());
    let mut attrs = Vec::new();
    for d in &schema.decls {
        let name = names.get(&d.name);
        let (content, simple, attr_list) = match &d.content {
            Content::Empty => (0, 0, &[][..]),
            Content::Simple(s) => (
                1,
                simple_id(
                    s,
                    &mut simples,
                    &mut simple_cache,
                    &mut strings,
                    &mut enum_pool,
                ),
                &[][..],
            ),
            Content::Complex { attrs, .. } => (2, 0, attrs.as_slice()),
            Content::SimpleAttrs(s, a) => (
                3,
                simple_id(
                    s,
                    &mut simples,
                    &mut simple_cache,
                    &mut strings,
                    &mut enum_pool,
                ),
                a.as_slice(),
            ),
        };
        let astart = attrs.len() as u32;
        for a in attr_list {
            let sid = simple_id(
                &a.ty,
                &mut simples,
                &mut simple_cache,
                &mut strings,
                &mut enum_pool,
            );
            attrs.push(OutAttr {
                name: names.get(&a.name),
                simple: sid,
                required: a.required,
                default: a.default.as_deref().map(|s| strings.get(s)).unwrap_or(0),
            });
        }
        let required = if attr_list.iter().any(|a| a.required) {
            0x80
        } else {
            0
        };
        decls.push(OutDecl {
            name,
            content: content | required,
            simple,
            attrs: (astart, attr_list.len() as u32),
            variants: (0, 0),
        });
    }

    let mut models = Vec::new();
    let mut positions = Vec::new();
    let mut follows: Vec<(u32, u32)> = Vec::new();
    let mut follow_cache: HashMap<Vec<(u32, u32)>, u32> = HashMap::new();
    let mut variants = Vec::new();
    let mut value_ranges: Vec<Range> = vec![(None, None)];
    let mut model_variants: Vec<(u32, u32)> = Vec::with_capacity(schema.models.len());

    // Lists stay in schema order: the next child is usually among the first
    // few entries, so the runtime scans those linearly. A long list is
    // followed by a copy sorted by key for a binary search (see
    // `SORTED_INDEX_FROM` in the runtime).
    let mut push_list = |list: Vec<(u32, u32)>, follows: &mut Vec<(u32, u32)>| -> (u32, u32) {
        if list.is_empty() {
            return (0, 0);
        }
        let len = list.len() as u32;
        if let Some(&start) = follow_cache.get(&list) {
            return (start, len);
        }
        let start = follows.len() as u32;
        follows.extend(list.iter().copied());
        if list.len() >= SORTED_INDEX_FROM {
            let mut sorted = list.clone();
            sorted.sort_unstable();
            follows.extend(sorted);
        }
        follow_cache.insert(list, start);
        (start, len)
    };

    for m in &schema.models {
        let n = m.leaves.len();
        let intro = |i: usize| m.leaves[i].ann.intro.unwrap_or(BASE_VERSION);
        let mut keys = vec![0u32; n];
        let mut max_occ = vec![0u32; n];
        let mut repeats = vec![false; n];
        if let Some(p) = &m.particle {
            sort_keys(
                p,
                &mut 0,
                None,
                &mut keys,
                &mut max_occ,
                &mut repeats,
                &m.leaves,
            );
        }
        let leaf_name = |i: usize| schema.decls[m.leaves[i].decl].name.as_str();
        let defaults: Vec<u32> = m
            .leaves
            .iter()
            .map(|l| {
                l.ann
                    .default
                    .as_deref()
                    .map(|d| strings.get(d))
                    .unwrap_or(0)
            })
            .collect();
        let ranges: Vec<u32> = m
            .leaves
            .iter()
            .map(|l| match (&l.ann.min_value, &l.ann.max_value) {
                (None, None) => 0,
                (a, b) => range_id((a.clone(), b.clone()), &mut value_ranges),
            })
            .collect();
        let entry = |i: usize| (name_hash(leaf_name(i)), i as u32);

        let full = automaton(m, &|_| true);
        // Ambiguity check (Unique Particle Attribution).
        let mut check = |set: &BTreeSet<usize>, at: &str| {
            let mut seen = BTreeSet::new();
            for &i in set {
                if !seen.insert(leaf_name(i)) {
                    stats
                        .ambiguous
                        .push(format!("{} {at}: {}", m.owner, leaf_name(i)));
                }
            }
        };
        check(&full.first, "start");
        for (i, f) in full.follow.iter().enumerate() {
            check(f, leaf_name(i));
        }

        let thresholds: BTreeSet<u8> = (0..n).map(intro).collect();
        let mut list: Vec<(u8, Option<Auto>)> = Vec::new();
        for &t in &thresholds {
            let allowed = |i: usize| intro(i) <= t;
            let pruned = automaton(m, &allowed);
            let restricted = Auto {
                first: full.first.iter().copied().filter(|&i| allowed(i)).collect(),
                last: full.last.iter().copied().filter(|&i| allowed(i)).collect(),
                nullable: full.nullable,
                follow: full
                    .follow
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        if allowed(i) {
                            f.iter().copied().filter(|&j| allowed(j)).collect()
                        } else {
                            pruned.follow[i].clone()
                        }
                    })
                    .collect(),
            };
            let v = if pruned == restricted {
                None
            } else {
                Some(pruned)
            };
            list.push((t, v));
        }
        if list.iter().any(|(_, v)| v.is_some()) {
            stats.variant_models += 1;
        }
        // Emit: full automaton plus distinct pruned variants.
        let emit = |a: &Auto,
                    models: &mut Vec<OutModel>,
                    positions: &mut Vec<OutPos>,
                    follows: &mut Vec<(u32, u32)>,
                    push_list: &mut PushList<'_>|
         -> u32 {
            let pstart = positions.len() as u32;
            for (i, leaf) in m.leaves.iter().enumerate() {
                let ann = &leaf.ann;
                let follow = push_list(a.follow[i].iter().map(|&j| entry(j)).collect(), follows);
                positions.push(OutPos {
                    name: decls[leaf.decl].name,
                    decl: leaf.decl as u32,
                    intro: intro(i),
                    not_in_qbd: ann.not_in_qbd,
                    last: a.last.contains(&i),
                    max_len: ann.qbd_max_len.unwrap_or(0),
                    max_occurs: max_occ[i],
                    repeats: repeats[i],
                    sort_key: keys[i],
                    follow,
                    default: defaults[i],
                    range: ranges[i],
                });
            }
            let first = push_list(a.first.iter().map(|&j| entry(j)).collect(), follows);
            models.push(OutModel {
                nullable: a.nullable,
                first,
                positions: (pstart, n as u32),
            });
            (models.len() - 1) as u32
        };
        let full_id = emit(
            &full,
            &mut models,
            &mut positions,
            &mut follows,
            &mut push_list,
        );
        let vstart = variants.len() as u32;
        let mut last_model = None;
        for (k, (t, v)) in list.iter().enumerate() {
            let model = match v {
                Some(a) => emit(a, &mut models, &mut positions, &mut follows, &mut push_list),
                None => full_id,
            };
            if last_model != Some(model) {
                variants.push((if k == 0 { 0 } else { *t }, model));
                last_model = Some(model);
            }
        }
        if list.is_empty() {
            variants.push((0, full_id));
        }
        model_variants.push((vstart, variants.len() as u32 - vstart));
    }
    for (d, sd) in decls.iter_mut().zip(&schema.decls) {
        if let Content::Complex { model, .. } = &sd.content {
            d.variants = model_variants[*model];
        }
    }
    stats.positions = positions.len();
    stats.follows = follows.len();
    let out = Out {
        version,
        names: names.list,
        strings: strings.list,
        simples,
        decls,
        variants,
        models,
        positions,
        follows,
        attrs,
        value_ranges,
        enum_pool,
        root: schema.root as u32,
    };
    Built { out, stats }
}
