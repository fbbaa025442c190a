//! The shape of the generated tables (`gen_v13.rs`, `gen_v16.rs`).
//!
//! Written by `cargo xtask gen-schema` (see `xtask/src/emit.rs`); tuple structs
//! keep the generated files compact. Indices are `u32` into the sibling
//! arrays; `0` in `strings` / `names` means "none".

/// The simple (text) types of qbXML, from `qbxmltypes*.xsd`.
///
/// Mirrored in `xtask/src/xsd.rs` (the generator does not depend on this
/// crate, so it can rebuild tables this crate fails to compile with);
/// `tables_are_consistent` checks the shared encodings agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// STRTYPE: any text, limited by a maximum length.
    Str,
    /// IDTYPE: a ListID / TxnID, at most 36 characters.
    Id,
    /// BOOLTYPE: `true`, `false`, `1`, `0` (or empty).
    Bool,
    /// DATETYPE: `YYYY-MM-DD`.
    Date,
    /// DATETIMETYPE: `YYYY-MM-DDThh:mm:ss[±hh:mm]` (parts optional).
    DateTime,
    /// TIMEINTERVALTYPE: `PT1H2M3S`.
    TimeInterval,
    /// AMTTYPE: money, up to 13 digits and exactly 2 decimals.
    Amt,
    /// PRICETYPE: up to 10 digits and 5 decimals.
    Price,
    /// QUANTYPE: up to 10 digits and 5 decimals.
    Quan,
    /// PERCENTTYPE: up to 10 digits and 5 decimals.
    Percent,
    /// INTTYPE: an integer, possibly range-limited.
    Int,
    /// GUIDTYPE: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` or `0`.
    Guid,
    /// UUIDTYPE: free text.
    Uuid,
    /// MACROTYPE: free text naming a macro.
    Macro,
    /// FLOATTYPE: a decimal number.
    Float,
    /// ENUMTYPE: one of a fixed list (any text when the list is empty).
    Enum,
}

pub(crate) struct Tables {
    pub version: u8,
    pub root: u32,
    pub names: &'static [&'static str],
    pub strings: &'static [&'static str],
    pub simples: &'static [S],
    pub enum_pool: &'static [u32],
    pub value_ranges: &'static [(Option<f64>, Option<f64>)],
    pub decls: &'static [D],
    pub variants: &'static [V],
    pub models: &'static [M],
    pub positions: &'static [P],
    pub follows: &'static [F],
    pub attrs: &'static [A],
}

/// Simple type: kind, max length (0 = none), min, max, enum values (start, len).
pub(crate) struct S(
    pub Kind,
    pub u32,
    pub Option<i64>,
    pub Option<i64>,
    pub u32,
    pub u32,
);

/// Element declaration: name, content (0 empty, 1 simple, 2 complex,
/// 3 simple content with attributes; flag 0x80: a required attribute),
/// simple type, attributes (start, len), model variants (start, len).
pub(crate) struct D(pub u32, pub u8, pub u32, pub u32, pub u32, pub u32, pub u32);

/// Model variant: the lowest qbXML version it applies to, and the model.
pub(crate) struct V(pub u8, pub u32);

/// Content model automaton: nullable, first set (start, len into `follows`),
/// positions (start, len).
pub(crate) struct M(pub bool, pub u32, pub u32, pub u32, pub u32);

/// Position (an element particle of a content model): name, decl, version
/// that introduced it, flags (1 = not in QuickBooks Desktop, 2 = may end the
/// model, 4 = may occur more than once), QuickBooks Desktop max length (0 = none), max occurrences counted
/// (0 = not counted), sort key, follow set (start, len), default value
/// (`strings` index), value range (`value_ranges` index).
pub(crate) struct P(
    pub u32,
    pub u32,
    pub u8,
    pub u8,
    pub u32,
    pub u32,
    pub u32,
    pub u32,
    pub u32,
    pub u32,
    pub u32,
);

/// Follow-set entry: key of the element name (`name_hash`), position (model-local).
pub(crate) struct F(pub u32, pub u32);

/// Attribute: name, simple type, required, default (`strings` index).
pub(crate) struct A(pub u32, pub u32, pub bool, pub u32);

/// The key the generator stored in `F.0`: length, first, middle and last
/// byte of the name. Cheap to compute; a match is confirmed by comparing
/// the names.
#[inline]
pub(crate) fn name_hash(s: &str) -> u32 {
    let b = s.as_bytes();
    let Some(&last) = b.last() else { return 0 };
    (b.len().min(255) as u32)
        | (u32::from(b[0]) << 8)
        | (u32::from(b[b.len() / 2]) << 16)
        | (u32::from(last) << 24)
}
