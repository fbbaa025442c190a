//! Intuit's qbXML schema as generated tables, and the content-model automata
//! the validator and the builders walk.
//!
//! Two table sets are compiled in: 13.0 (validates declared versions 1.0 to
//! 13.0, with each element's "introduced in" version from Intuit's annotated
//! ops file) and 16.0 (validates 14.0 to 16.0). See `docs/QBXML.md` for what is
//! approximate.
//!
//! Every element particle of a content model is a [`Position`]; a model is a
//! Glushkov automaton whose states are "before anything" and "just after
//! position p". XSD's Unique Particle Attribution rule makes it deterministic,
//! so a state and a child name give at most one next position (the generator
//! checks this).

mod tables;

#[rustfmt::skip]
mod gen_v13;
#[rustfmt::skip]
mod gen_v16;

pub(crate) use tables::name_hash;
pub use tables::Kind;
use tables::Tables;

use crate::version::Version;

/// The model state before the first child.
pub(crate) const START: u32 = u32::MAX;

/// Follow lists this long are followed by a copy sorted by name key
/// (`SORTED_INDEX_FROM` in the generator).
const SORTED_INDEX_FROM: usize = 16;

/// Name equality without a libc call: names are short and the keys of
/// both already matched (same length, same first, middle and last byte);
/// a name taken from the tables themselves is the same pointer.
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a.bytes().zip(b.bytes()).all(|(x, y)| x == y))
}

/// `D.1`: content kind in the low bits, flags above.
const CONTENT_MASK: u8 = 0x0F;
/// `D.1` flag: a required attribute is declared.
const REQUIRED_ATTRS: u8 = 0x80;

/// Entries of a long follow list scanned before the binary search.
const LINEAR_FIRST: usize = 6;

/// FNV-1a: a fast hash for short keys such as element names and IDs
/// (std's SipHash defends against hash flooding, which these maps do not
/// need: their keys come from the schema or the company file, and are
/// bounded).
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A map keyed by names, hashed with [`NameHasher`].
pub type NameMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<NameHasher>>;

/// Every element and attribute name of the schemas (13.0 and 16.0).
pub fn names() -> impl Iterator<Item = &'static str> {
    gen_v13::TABLES
        .names
        .iter()
        .chain(gen_v16::TABLES.names.iter())
        .copied()
}

/// The schema's own copy of an element or attribute name: a caller that
/// keeps many names (a decoded record) can keep them without allocating.
pub fn intern(name: &str) -> Option<&'static str> {
    use std::collections::HashSet;
    use std::sync::OnceLock;
    type Names = HashSet<&'static str, std::hash::BuildHasherDefault<NameHasher>>;
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            gen_v13::TABLES
                .names
                .iter()
                .chain(gen_v16::TABLES.names.iter())
                .copied()
                .collect()
        })
        .get(name)
        .copied()
}

/// The schema tables for one qbXML version range.
#[derive(Clone, Copy)]
pub struct Schema {
    t: &'static Tables,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schema({})", self.version())
    }
}

impl Schema {
    /// The tables that validate `version`: 13.0's for 13.0 and older, 16.0's
    /// for newer ones.
    pub fn for_version(version: Version) -> Schema {
        if version <= Version::V13_0 {
            Schema {
                t: &gen_v13::TABLES,
            }
        } else {
            Schema {
                t: &gen_v16::TABLES,
            }
        }
    }

    /// The XSD version the tables were generated from (13.0 or 16.0).
    pub fn version(&self) -> Version {
        Version::from_code(self.t.version)
    }

    /// The `QBXML` element.
    pub fn root(&self) -> Decl {
        Decl {
            t: self.t,
            id: self.t.root,
        }
    }

    /// The `QBXMLMsgsRq` element (the request message set).
    pub fn requests(&self) -> Option<Decl> {
        self.root().child("QBXMLMsgsRq").map(|p| p.decl())
    }

    /// The `QBXMLMsgsRs` element (the response message set).
    pub fn responses(&self) -> Option<Decl> {
        self.root().child("QBXMLMsgsRs").map(|p| p.decl())
    }

    /// A request type (`CustomerAddRq`) of the request message set, or of the
    /// subscription message set.
    pub fn request(&self, name: &str) -> Option<Position> {
        ["QBXMLMsgsRq", "QBXMLSubscriptionMsgsRq"]
            .iter()
            .filter_map(|set| self.root().child(set))
            .find_map(|set| set.decl().child(name))
    }

    /// A response type (`CustomerAddRs`).
    pub fn response(&self, name: &str) -> Option<Position> {
        ["QBXMLMsgsRs", "QBXMLSubscriptionMsgsRs"]
            .iter()
            .filter_map(|set| self.root().child(set))
            .find_map(|set| set.decl().child(name))
    }

    /// All request types of `QBXMLMsgsRq` with the version that introduced
    /// each, in schema order.
    pub fn request_types(&self) -> impl Iterator<Item = Position> {
        self.requests().into_iter().flat_map(|d| d.children())
    }
}

/// What an element may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    Empty,
    Simple,
    Complex,
    /// Text with attributes (e.g. `<TxnID useMacro="…">`).
    SimpleWithAttributes,
}

/// An element declaration.
#[derive(Clone, Copy)]
pub struct Decl {
    t: &'static Tables,
    id: u32,
}

impl PartialEq for Decl {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.t, other.t) && self.id == other.id
    }
}

impl std::fmt::Debug for Decl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decl({})", self.name())
    }
}

impl Decl {
    fn d(&self) -> &'static tables::D {
        &self.t.decls[self.id as usize]
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub fn name(&self) -> &'static str {
        self.t.names[self.d().0 as usize]
    }

    pub fn content(&self) -> ContentKind {
        match self.d().1 & CONTENT_MASK {
            0 => ContentKind::Empty,
            1 => ContentKind::Simple,
            2 => ContentKind::Complex,
            _ => ContentKind::SimpleWithAttributes,
        }
    }

    /// The text type, for simple elements.
    pub fn simple_type(&self) -> Option<SimpleType> {
        match self.content() {
            ContentKind::Simple | ContentKind::SimpleWithAttributes => Some(SimpleType {
                t: self.t,
                id: self.d().2,
            }),
            _ => None,
        }
    }

    pub fn attributes(&self) -> impl Iterator<Item = AttrDecl> + '_ {
        let d = self.d();
        (d.3..d.3 + d.4).map(move |id| AttrDecl { t: self.t, id })
    }

    /// Does the element declare a required attribute (such as `onError`)?
    pub fn requires_attributes(&self) -> bool {
        self.d().1 & REQUIRED_ATTRS != 0
    }

    pub fn attribute(&self, name: &str) -> Option<AttrDecl> {
        self.attributes().find(|a| a.name() == name)
    }

    /// The content model that validates `version`.
    pub(crate) fn model_for(&self, version: Version) -> Option<Model> {
        let d = self.d();
        if d.6 == 0 {
            return None;
        }
        let variants = &self.t.variants[d.5 as usize..(d.5 + d.6) as usize];
        let v = variants
            .iter()
            .rev()
            .find(|v| v.0 <= version.code())
            .or(variants.first())?;
        Some(Model { t: self.t, id: v.1 })
    }

    /// The content model for `version` (complex elements only).
    pub fn content_model(&self, version: Version) -> Option<ContentModel> {
        self.model_for(version)
            .map(|model| ContentModel { model, version })
    }

    /// The content model of the newest version (all positions).
    pub(crate) fn full_model(&self) -> Option<Model> {
        let d = self.d();
        if d.6 == 0 {
            return None;
        }
        let v = &self.t.variants[(d.5 + d.6 - 1) as usize];
        Some(Model { t: self.t, id: v.1 })
    }

    /// The child positions in schema order.
    pub fn children(&self) -> impl Iterator<Item = Position> {
        self.full_model().into_iter().flat_map(|m| m.positions())
    }

    /// The first child position with this name: a binary search of the
    /// model's positions by name key (a Ret has dozens of children, and
    /// writing a response looks each one up).
    pub fn child(&self, name: &str) -> Option<Position> {
        let m = self.full_model()?;
        let list = &child_index(self.t, m.id as usize)?.by_key;
        let hash = name_hash(name);
        let from = list.partition_point(|e| e.0 < hash);
        list[from..]
            .iter()
            .take_while(|e| e.0 == hash)
            .map(|e| m.position(e.1))
            .find(|p| same(p.name(), name))
    }
}

/// One model's positions as (name key, model-local index), sorted by key
/// and, within a key, in schema order: what [`Decl::child`] searches.
struct ChildIndex {
    by_key: Box<[(u32, u32)]>,
    /// No two positions share a name (then the first position with a name
    /// at or after a cursor is *the* position with that name). The
    /// generated models have no repeated name today; this keeps the cursor
    /// right if a schema ever brings one.
    unique: bool,
}

/// For each model of a table set (by model id), its [`ChildIndex`]. Each
/// model's index is built on its first lookup, so a process pays only for
/// the models it uses.
fn child_index(t: &'static Tables, model: usize) -> Option<&'static ChildIndex> {
    use std::sync::OnceLock;
    type Index = Vec<OnceLock<ChildIndex>>;
    static V13: OnceLock<Index> = OnceLock::new();
    static V16: OnceLock<Index> = OnceLock::new();
    let cell = if std::ptr::eq(t, &gen_v13::TABLES) {
        &V13
    } else if std::ptr::eq(t, &gen_v16::TABLES) {
        &V16
    } else {
        // A third table set needs its own index here.
        return None;
    };
    let all = cell.get_or_init(|| t.models.iter().map(|_| OnceLock::new()).collect());
    let m = t.models.get(model)?;
    Some(all.get(model)?.get_or_init(|| {
        let mut v: Vec<(u32, u32)> = (0..m.4)
            .map(|local| {
                let p = &t.positions[(m.3 + local) as usize];
                (name_hash(t.names[p.0 as usize]), local)
            })
            .collect();
        // Stable: equal keys keep schema order (the first wins).
        v.sort_by_key(|e| e.0);
        // Equal keys are equal names or a collision: either way, not
        // known to be unique (the cursor then falls back to the search).
        let unique = v.windows(2).all(|w| w[0].0 != w[1].0);
        ChildIndex {
            by_key: v.into_boxed_slice(),
            unique,
        }
    }))
}

/// Finds the children of one element in turn, for callers whose children
/// mostly come in schema order (a record the simulator rendered): the next
/// child is usually at, or a few places after, the last one found, so a
/// short look ahead finds it without hashing its name. Otherwise it is
/// [`Decl::child`]'s search, and the cursor moves to what that found. The
/// answer is always the one `child` gives (the look ahead is used only in
/// models where every name is in one place).
pub(crate) struct ChildCursor {
    decl: Decl,
    /// The model and the position last found; `None`: search every time.
    scan: Option<(Model, u32)>,
}

impl ChildCursor {
    /// Positions looked at before searching: a record skips the optional
    /// children it does not have, usually a few at a time.
    const AHEAD: u32 = 8;

    pub(crate) fn new(decl: Decl) -> ChildCursor {
        let scan = decl
            .full_model()
            .filter(|m| child_index(decl.t, m.id as usize).is_some_and(|i| i.unique));
        ChildCursor {
            decl,
            scan: scan.map(|m| (m, 0)),
        }
    }

    /// The position of the next child, named `name`.
    pub(crate) fn find(&mut self, name: &str) -> Option<Position> {
        let Some((m, at)) = &mut self.scan else {
            return self.decl.child(name);
        };
        let (first, len) = (m.m().3, m.m().4);
        // A repeated child stays at its position: the look starts at the
        // last one found, not after it.
        for local in *at..len.min(*at + Self::AHEAD) {
            let p = m.position(local);
            if same(p.name(), name) {
                *at = local;
                return Some(p);
            }
        }
        let found = self.decl.child(name);
        if let Some(p) = found {
            *at = p.id - first;
        }
        found
    }
}

/// A content model as it applies to one qbXML version: which children may
/// come in which order. Walk it with [`start`](Self::start) and
/// [`next`](Self::next) (tools, generators, the simulator's ordering).
#[derive(Clone, Copy)]
pub struct ContentModel {
    model: Model,
    version: Version,
}

/// A state of a [`ContentModel`]: "before the first child" or "just after
/// a given child".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct State(u32);

impl ContentModel {
    pub fn start(&self) -> State {
        State(START)
    }

    /// The children that may come next, each with the state it leads to;
    /// elements newer than the version are left out.
    pub fn next(&self, state: State) -> impl Iterator<Item = (Position, State)> + '_ {
        let base = self.model.m().3;
        let version = self.version;
        self.model
            .expected(state.0)
            .filter(move |p| p.introduced() <= version)
            .map(move |p| (p, State(p.id - base)))
    }

    /// The state after a child named `name`, if it may come next.
    pub fn step(&self, state: State, name: &str) -> Option<(Position, State)> {
        let local = self.model.step(state.0, name, name_hash(name))?;
        let p = self.model.position(local);
        (p.introduced() <= self.version).then_some((p, State(local)))
    }

    /// May the element end in this state?
    pub fn can_end(&self, state: State) -> bool {
        self.model.accepts_end(state.0)
    }
}

/// A simple (text) type with its facets.
#[derive(Clone, Copy)]
pub struct SimpleType {
    t: &'static Tables,
    id: u32,
}

impl SimpleType {
    fn s(&self) -> &'static tables::S {
        &self.t.simples[self.id as usize]
    }

    pub fn kind(&self) -> Kind {
        self.s().0
    }

    /// The XSD's maxLength (IDTYPE: 36).
    pub fn max_len(&self) -> Option<u32> {
        Some(self.s().1).filter(|&n| n > 0)
    }

    pub fn min(&self) -> Option<i64> {
        self.s().2
    }

    pub fn max(&self) -> Option<i64> {
        self.s().3
    }

    /// Allowed values of an enumeration (empty: any text).
    pub fn values(&self) -> impl ExactSizeIterator<Item = &'static str> + Clone {
        let s = self.s();
        let t = self.t;
        t.enum_pool[s.4 as usize..(s.4 + s.5) as usize]
            .iter()
            .map(move |&i| t.strings[i as usize])
    }
}

/// An attribute declaration.
#[derive(Clone, Copy)]
pub struct AttrDecl {
    t: &'static Tables,
    id: u32,
}

impl AttrDecl {
    fn a(&self) -> &'static tables::A {
        &self.t.attrs[self.id as usize]
    }

    pub fn name(&self) -> &'static str {
        self.t.names[self.a().0 as usize]
    }

    pub fn simple_type(&self) -> SimpleType {
        SimpleType {
            t: self.t,
            id: self.a().1,
        }
    }

    pub fn required(&self) -> bool {
        self.a().2
    }

    pub fn default(&self) -> Option<&'static str> {
        Some(self.a().3)
            .filter(|&i| i != 0)
            .map(|i| self.t.strings[i as usize])
    }
}

/// One element particle of a content model: the child's declaration plus
/// what Intuit's ops file says of it in this place.
#[derive(Clone, Copy)]
pub struct Position {
    t: &'static Tables,
    id: u32,
}

impl PartialEq for Position {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.t, other.t) && self.id == other.id
    }
}

impl std::fmt::Debug for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Position({})", self.name())
    }
}

impl Position {
    fn p(&self) -> &'static tables::P {
        &self.t.positions[self.id as usize]
    }

    pub(crate) fn from_id(schema: Schema, id: u32) -> Position {
        Position { t: schema.t, id }
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub fn name(&self) -> &'static str {
        self.t.names[self.p().0 as usize]
    }

    pub fn decl(&self) -> Decl {
        Decl {
            t: self.t,
            id: self.p().1,
        }
    }

    /// The qbXML version that introduced the element here (1.0 when the ops
    /// file says nothing; 14.0 for what the 16.0 XSD added over 13.0).
    pub fn introduced(&self) -> Version {
        Version::from_code(self.p().2)
    }

    /// Intuit marks the field "not in QBD": valid qbXML that QuickBooks
    /// Desktop does not support (it belongs to the Online/UK/CA editions).
    pub fn not_in_desktop(&self) -> bool {
        self.p().3 & 1 != 0
    }

    /// May the element occur more than once here (its own `maxOccurs`, or
    /// a repeating group around it)? The JSON form makes exactly these
    /// arrays.
    pub fn repeats(&self) -> bool {
        self.p().3 & 4 != 0
    }

    pub(crate) fn is_last(&self) -> bool {
        self.p().3 & 2 != 0
    }

    /// The ops file's QuickBooks Desktop maximum length here, if any.
    pub(crate) fn qbd_max_len(&self) -> Option<u32> {
        Some(self.p().4).filter(|&n| n > 0)
    }

    /// QuickBooks Desktop's maximum length here, or the XSD's.
    pub fn max_len(&self) -> Option<u32> {
        Some(self.p().4)
            .filter(|&n| n > 0)
            .or_else(|| self.decl().simple_type().and_then(|s| s.max_len()))
    }

    /// For bounded repeats (`maxOccurs="50"`): the bound.
    pub fn max_occurs(&self) -> Option<u32> {
        Some(self.p().5).filter(|&n| n > 0)
    }

    /// Children are emitted sorted by this key (stable); members of a
    /// repeating group share a key so their order is kept.
    pub fn sort_key(&self) -> u32 {
        self.p().6
    }

    /// The default value QuickBooks applies when the element is absent
    /// (from the ops file's `[DEFAULT]` marks), e.g. ActiveStatus → ActiveOnly.
    pub fn default_value(&self) -> Option<&'static str> {
        Some(self.p().9)
            .filter(|&i| i != 0)
            .map(|i| self.t.strings[i as usize])
    }

    /// Inclusive value range from the ops file ("min value = 1").
    pub fn value_range(&self) -> (Option<f64>, Option<f64>) {
        self.t.value_ranges[self.p().10 as usize]
    }
}

/// A content-model automaton (one version variant).
#[derive(Clone, Copy)]
pub(crate) struct Model {
    t: &'static Tables,
    id: u32,
}

impl Model {
    fn m(&self) -> &'static tables::M {
        &self.t.models[self.id as usize]
    }

    pub(crate) fn positions(self) -> impl Iterator<Item = Position> {
        let m = self.m();
        let t = self.t;
        (m.3..m.3 + m.4).map(move |id| Position { t, id })
    }

    pub(crate) fn position(self, local: u32) -> Position {
        Position {
            t: self.t,
            id: self.m().3 + local,
        }
    }

    fn edges(self, state: u32) -> &'static [tables::F] {
        let (start, len) = self.edge_range(state);
        &self.t.follows[start..start + len]
    }

    /// The model-local index of one of its positions (the automaton state
    /// just after it).
    pub(crate) fn local(self, p: Position) -> u32 {
        p.id - self.m().3
    }

    /// The next state on a child named `name` (with `hash = name_hash(name)`).
    #[inline]
    pub(crate) fn step(self, state: u32, name: &str, hash: u32) -> Option<u32> {
        let base = self.m().3;
        let is = |f: &tables::F| {
            f.0 == hash
                && same(
                    self.t.names[self.t.positions[(base + f.1) as usize].0 as usize],
                    name,
                )
        };
        let edges = self.edges(state);
        // Edges are in schema order and the next child is usually close
        // after the current one: scan the first few, then binary-search the
        // sorted copy that long lists carry right after themselves.
        if edges.len() < SORTED_INDEX_FROM {
            return edges.iter().find(|f| is(f)).map(|f| f.1);
        }
        if let Some(f) = edges[..LINEAR_FIRST].iter().find(|f| is(f)) {
            return Some(f.1);
        }
        let (start, len) = self.edge_range(state);
        let sorted = &self.t.follows[start + len..start + 2 * len];
        let from = sorted.partition_point(|f| f.0 < hash);
        sorted[from..]
            .iter()
            .take_while(|f| f.0 == hash)
            .find(|f| is(f))
            .map(|f| f.1)
    }

    fn edge_range(self, state: u32) -> (usize, usize) {
        if state == START {
            let m = self.m();
            (m.1 as usize, m.2 as usize)
        } else {
            let p = self.position(state).p();
            (p.7 as usize, p.8 as usize)
        }
    }

    /// The positions that may come next, in schema order.
    pub(crate) fn expected(self, state: u32) -> impl Iterator<Item = Position> {
        let base = self.m().3;
        let t = self.t;
        let mut locals: Vec<u32> = self.edges(state).iter().map(|f| f.1).collect();
        locals.sort_unstable();
        locals
            .into_iter()
            .map(move |l| Position { t, id: base + l })
    }

    /// May the element end in this state?
    pub(crate) fn accepts_end(self, state: u32) -> bool {
        if state == START {
            self.m().0
        } else {
            self.position(state).is_last()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every index in the generated tables is in bounds, so no lookup
    /// driven by input can panic.
    #[test]
    fn tables_are_consistent() {
        for t in [&gen_v13::TABLES, &gen_v16::TABLES] {
            assert!((t.root as usize) < t.decls.len());
            for d in t.decls {
                assert!((d.0 as usize) < t.names.len());
                assert!((d.2 as usize) < t.simples.len());
                assert!(((d.3 + d.4) as usize) <= t.attrs.len());
                assert!(((d.5 + d.6) as usize) <= t.variants.len());
                if d.1 & CONTENT_MASK == 2 {
                    assert!(d.6 > 0 || d.4 > 0);
                }
            }
            for v in t.variants {
                assert!((v.1 as usize) < t.models.len());
            }
            for m in t.models {
                assert!(((m.1 + m.2) as usize) <= t.follows.len());
                assert!(((m.3 + m.4) as usize) <= t.positions.len());
                for f in &t.follows[m.1 as usize..(m.1 + m.2) as usize] {
                    assert!(f.1 < m.4);
                }
                let lists = std::iter::once((m.1, m.2)).chain(
                    t.positions[m.3 as usize..(m.3 + m.4) as usize]
                        .iter()
                        .map(|p| (p.7, p.8)),
                );
                for (start, len) in lists {
                    let (start, len) = (start as usize, len as usize);
                    assert!(start + len <= t.follows.len());
                    let list = &t.follows[start..start + len];
                    for f in list {
                        assert!(f.1 < m.4, "follow entry outside its model");
                        let target = &t.positions[(m.3 + f.1) as usize];
                        assert_eq!(f.0, name_hash(t.names[target.0 as usize]));
                    }
                    // Long lists carry a key-sorted copy right after them,
                    // which `Model::step` binary-searches.
                    if len >= SORTED_INDEX_FROM {
                        assert!(start + 2 * len <= t.follows.len());
                        let mut want: Vec<(u32, u32)> = list.iter().map(|f| (f.0, f.1)).collect();
                        want.sort_unstable();
                        let got: Vec<(u32, u32)> = t.follows[start + len..start + 2 * len]
                            .iter()
                            .map(|f| (f.0, f.1))
                            .collect();
                        assert_eq!(got, want);
                    }
                }
            }
            for p in t.positions {
                assert!((p.0 as usize) < t.names.len());
                assert!((p.1 as usize) < t.decls.len());
                assert!((p.9 as usize) < t.strings.len());
                assert!((p.10 as usize) < t.value_ranges.len());
            }
            for s in t.simples {
                assert!(((s.4 + s.5) as usize) <= t.enum_pool.len());
            }
            for &e in t.enum_pool {
                assert!((e as usize) < t.strings.len());
            }
            for a in t.attrs {
                assert!((a.0 as usize) < t.names.len());
                assert!((a.1 as usize) < t.simples.len());
                assert!((a.3 as usize) < t.strings.len());
            }
        }
    }

    #[test]
    fn customer_add_facts() {
        let s = Schema::for_version(Version::V13_0);
        let add = s.request("CustomerAddRq").map(|p| p.decl());
        let cust = add.and_then(|d| d.child("CustomerAdd")).map(|p| p.decl());
        let Some(cust) = cust else {
            panic!("CustomerAdd missing")
        };
        let name = cust.child("Name");
        assert_eq!(name.and_then(|p| p.max_len()), Some(41));
        let job_title = cust.child("JobTitle");
        assert_eq!(job_title.map(|p| p.introduced()), Version::new(12, 0));
        let sales_rep = cust.child("SalesRepRef").map(|p| p.decl());
        let rep_name = sales_rep.and_then(|d| d.child("FullName"));
        assert_eq!(
            rep_name.and_then(|p| p.max_len()),
            Some(5),
            "sales rep initials"
        );
        let print_as = cust.child("PrintAs");
        assert!(print_as.is_some_and(|p| p.not_in_desktop()));
        let job_status = cust.child("JobStatus");
        assert_eq!(job_status.and_then(|p| p.default_value()), Some("None"));
        assert!(s.request("CustomerQueryRq").is_some());
        assert!(s.request("NoSuchRq").is_none());
        let n13 = s.request_types().count();
        let n16 = Schema::for_version(Version::V16_0).request_types().count();
        assert!(n13 > 200 && n16 > n13, "{n13} {n16}");
    }

    /// The cursor gives what `child` gives, for every declaration of both
    /// versions, whatever order the children come in: schema order, the
    /// reverse, a rotation, and repeats (the look ahead and the jumps back
    /// must never find a different position of the same name).
    #[test]
    fn cursor_finds_what_child_finds() {
        for t in [&gen_v13::TABLES, &gen_v16::TABLES] {
            for id in 0..t.decls.len() as u32 {
                let d = Decl { t, id };
                let names: Vec<&str> = d.children().map(|p| p.name()).collect();
                if names.is_empty() {
                    continue;
                }
                let mut orders: Vec<Vec<&str>> = vec![names.clone()];
                orders.push(names.iter().rev().copied().collect());
                let mut rotated = names.clone();
                rotated.rotate_left(names.len() / 2);
                orders.push(rotated);
                orders.push(names.iter().flat_map(|n| [*n, *n]).collect());
                orders.push(
                    names
                        .iter()
                        .step_by(3)
                        .copied()
                        .chain(["NotAChild"])
                        .collect(),
                );
                for order in orders {
                    let mut cursor = ChildCursor::new(d);
                    for name in order {
                        let (a, b) = (cursor.find(name), d.child(name));
                        assert!(
                            a.map(|p| p.id) == b.map(|p| p.id),
                            "{} in {}",
                            name,
                            d.name()
                        );
                    }
                }
            }
        }
    }
}
