//! A record's `…Ret` body: how it is stored, and how the elements of an
//! `…Add` or `…Mod` become it.
//!
//! The mapping is driven by the schema, not by per-list code: a child of the
//! request aggregate goes to the Ret child of the same name (or `…Ret`:
//! `Contacts` → `ContactsRet`), references keep only their ListID, values
//! are normalised the way QuickBooks prints them (`1` → `true`, `5` →
//! `5.00`), and request-only elements (`OpenBalanceDate`) are dropped.

use qbxml::schema::{Decl, Kind as TypeKind};
use qbxml::{Elem, Element};
use std::borrow::Cow;

/// Encode elements compactly: `lName:len:text` for a leaf, `oName;` … `c`
/// for an aggregate. Length-prefixed, so text needs no escaping.
/// The text of the first element named `name` in a stored body.
pub fn leaf<'a>(items: &'a [Elem], name: &str) -> Option<&'a str> {
    items
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.text.as_str())
}

pub fn encode(items: &[Elem]) -> String {
    let mut out = String::new();
    for e in items {
        encode_one(&mut out, e);
    }
    out
}

fn encode_one(out: &mut String, e: &Elem) {
    if e.children.is_empty() {
        out.push('l');
        out.push_str(&e.name);
        out.push(':');
        out.push_str(&e.text.len().to_string());
        out.push(':');
        out.push_str(&e.text);
    } else {
        out.push('o');
        out.push_str(&e.name);
        out.push(';');
        for c in &e.children {
            encode_one(out, c);
        }
        out.push('c');
    }
}

/// An element name as the schema spells it, without allocating.
fn name(s: &str) -> std::borrow::Cow<'static, str> {
    match qbxml::schema::intern(s) {
        Some(n) => std::borrow::Cow::Borrowed(n),
        None => std::borrow::Cow::Owned(s.to_string()),
    }
}

/// Decode what `encode` wrote. A damaged body decodes as far as it can.
pub fn decode(s: &str) -> Vec<Elem> {
    let mut root = Elem::new("");
    // About one element per 24 bytes of body: grown once, not a dozen times.
    root.children.reserve(s.len() / 24 + 1);
    let mut stack: Vec<Elem> = Vec::with_capacity(4);
    stack.push(root);
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        match b[i] {
            b'l' => {
                let Some(colon) = s[i + 1..].find(':').map(|p| p + i + 1) else {
                    break;
                };
                let Some(colon2) = s[colon + 1..].find(':').map(|p| p + colon + 1) else {
                    break;
                };
                let Ok(len) = s[colon + 1..colon2].parse::<usize>() else {
                    break;
                };
                let Some(text) = s.get(colon2 + 1..colon2 + 1 + len) else {
                    break;
                };
                let leaf = Elem::leaf(name(&s[i + 1..colon]), text.to_string());
                if let Some(top) = stack.last_mut() {
                    top.children.push(leaf);
                }
                i = colon2 + 1 + len;
            }
            b'o' => {
                let Some(semi) = s[i + 1..].find(';').map(|p| p + i + 1) else {
                    break;
                };
                stack.push(Elem::new(name(&s[i + 1..semi])));
                i = semi + 1;
            }
            b'c' => {
                if stack.len() < 2 {
                    break;
                }
                if let Some(done) = stack.pop() {
                    if let Some(top) = stack.last_mut() {
                        top.children.push(done);
                    }
                }
                i += 1;
            }
            _ => break,
        }
    }
    while stack.len() > 1 {
        if let Some(done) = stack.pop() {
            if let Some(top) = stack.last_mut() {
                top.children.push(done);
            }
        }
    }
    stack.pop().map(|r| r.children).unwrap_or_default()
}

/// Is this element a list reference (`…Ref` holding `ListID`/`FullName`)?
pub fn is_ref(name: &str, decl: Decl) -> bool {
    name.ends_with("Ref") && decl.child("ListID").is_some() && decl.child("FullName").is_some()
}

/// The Mod sub-aggregates merged field by field into what their Add
/// stored: an item's sales and purchase prices. Others (a customer's
/// `ContactsMod`, `AdditionalNotesMod`; a lead's `LocationsMod`) name
/// sub-records by ID and are not simulated yet [I]: they are ignored, as
/// fields QuickBooks Desktop does not take.
const MERGED_MODS: &[(&str, &str)] = &[
    ("SalesOrPurchaseMod", "SalesOrPurchase"),
    ("SalesAndPurchaseMod", "SalesAndPurchase"),
];

/// Where a request child lands in the Ret aggregate `ret`: the same name,
/// or `X` → `XRet`; the Mod aggregates of [`MERGED_MODS`] land where their
/// Add's do.
pub fn ret_name(name: &str, ret: Decl) -> Option<Cow<'static, str>> {
    if let Some(p) = ret.child(name) {
        return Some(Cow::Borrowed(p.name()));
    }
    let with_ret = format!("{name}Ret");
    if let Some(p) = ret.child(&with_ret) {
        return Some(Cow::Borrowed(p.name()));
    }
    let (_, base) = MERGED_MODS.iter().find(|(m, _)| *m == name)?;
    ret.child(base).map(|p| Cow::Borrowed(p.name()))
}

/// After a Mod merged an item's prices: the sales/purchase aggregate and
/// the price the Mod gave win over the stored alternative (one of
/// `SalesOrPurchase` or `SalesAndPurchase`; one of `Price` or
/// `PricePercent`), as the schema allows only one.
pub fn settle_prices(items: &mut Vec<Elem>, src: Element<'_>) {
    let given = |n: &str| src.child(n).is_some();
    if given("SalesOrPurchaseMod") {
        items.retain(|e| e.name != "SalesAndPurchase");
    } else if given("SalesAndPurchaseMod") {
        items.retain(|e| e.name != "SalesOrPurchase");
    }
    if let (Some(m), Some(sp)) = (
        src.child("SalesOrPurchaseMod"),
        items.iter_mut().find(|e| e.name == "SalesOrPurchase"),
    ) {
        if m.child("Price").is_some() {
            sp.children.retain(|c| c.name != "PricePercent");
        } else if m.child("PricePercent").is_some() {
            sp.children.retain(|c| c.name != "Price");
        }
    }
}

/// QuickBooks' printed form of a value of `kind`.
pub fn normalise(kind: TypeKind, text: &str) -> String {
    let t = text.trim();
    match kind {
        TypeKind::Bool => match t {
            "1" | "true" => "true".into(),
            _ => "false".into(),
        },
        TypeKind::Amt => crate::store::money(crate::store::cents(t)),
        TypeKind::Quan => minimal_decimal(t),
        _ => text.to_string(),
    }
}

/// `2.000` → `2`, `2.50` → `2.5`.
fn minimal_decimal(t: &str) -> String {
    if !t.contains('.') {
        return t.to_string();
    }
    let s = t.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A reference to resolve: the element name and what the request gave.
pub struct RefRequest<'a> {
    pub name: &'a str,
    pub list_id: Option<&'a str>,
    pub full_name: Option<&'a str>,
}

impl<'a> RefRequest<'a> {
    /// The reference element `e` (named `name`) gives; an empty ListID or
    /// FullName is none.
    pub fn of(name: &'a str, e: Element<'a>) -> RefRequest<'a> {
        RefRequest {
            name,
            list_id: e.child_text("ListID").filter(|s| !s.is_empty()),
            full_name: e.child_text("FullName").filter(|s| !s.is_empty()),
        }
    }
}

/// Map the children of a request aggregate onto `ret`.
/// `skip` names top-level children the caller handles itself;
/// `resolve` turns a reference into a ListID or an error status.
pub fn map_children<E>(
    src: Element<'_>,
    ret: Decl,
    skip: &[&str],
    resolve: &mut dyn FnMut(&RefRequest<'_>) -> Result<String, E>,
) -> Result<Vec<Elem>, E> {
    let mut out = Vec::new();
    for c in src.children() {
        let name = c.name();
        if skip.contains(&name) {
            continue;
        }
        // QuickBooks Desktop ignores fields of other editions (530).
        if c.schema_position().is_some_and(|p| p.not_in_desktop()) {
            continue;
        }
        let Some(target) = ret_name(name, ret) else {
            continue;
        };
        let Some(pos) = ret.child(&target) else {
            continue;
        };
        let decl = pos.decl();
        if is_ref(&target, decl) {
            let rq = RefRequest::of(name, c);
            if rq.list_id.is_none() && rq.full_name.is_none() {
                continue;
            }
            let id = resolve(&rq)?;
            out.push(Elem::new(target).child(Elem::leaf("ListID", id)));
        } else if !c.has_children() && decl.children().next().is_some() {
            // An aggregate given empty (`<ShipAddress></ShipAddress>`):
            // nothing to store.
            continue;
        } else if c.has_children() {
            let children = map_children(c, decl, &[], resolve)?;
            if !children.is_empty() {
                let mut e = Elem::new(target);
                e.children = children;
                // A part given empty stores nothing; an aggregate left
                // without a part it cannot be without (an
                // AdditionalContactRef whose ContactValue is empty) holds
                // no value, and is not stored either [I].
                if !emptied(c) || complete(&mut e, decl) {
                    out.push(e);
                }
            }
        } else {
            let text = c.text();
            if text.is_empty() {
                continue;
            }
            let v = match decl.simple_type() {
                Some(t) => normalise(t.kind(), text),
                None => text.to_string(),
            };
            out.push(Elem::leaf(target, v));
        }
    }
    Ok(out)
}

/// Was any part of this aggregate, at any depth, given empty?
fn emptied(e: Element<'_>) -> bool {
    e.children().any(|g| {
        if g.has_children() {
            emptied(g)
        } else {
            g.text().is_empty()
        }
    })
}

/// Does the aggregate have every part its declaration requires? (Judged
/// in schema order, against the newest version: a stored body serves them
/// all.)
fn complete(e: &mut Elem, decl: Decl) -> bool {
    let Some(model) = decl.content_model(qbxml::Version::LATEST) else {
        return true;
    };
    if e.order_by_schema(decl, None).is_err() {
        return false;
    }
    let mut state = model.start();
    for c in &e.children {
        match model.step(state, &c.name) {
            Some((_, next)) => state = next,
            None => return false,
        }
    }
    model.can_end(state)
}

/// Apply a Mod's mapped children to a stored body: a leaf replaces the
/// leaf of the same name (an empty one clears it), an aggregate merges
/// into the stored one, and repeated elements given in the Mod replace
/// all stored ones of that name.
pub fn merge(stored: &mut Vec<Elem>, changes: Vec<Elem>, cleared: &[String]) {
    stored.retain(|e| !cleared.iter().any(|c| *c == e.name));
    let mut repeated_seen: Vec<String> = Vec::new();
    let counts = |v: &[Elem], n: &str| v.iter().filter(|e| e.name == n).count();
    let change_names: Vec<String> = changes.iter().map(|e| e.name.to_string()).collect();
    for ch in changes {
        let name = ch.name.to_string();
        let repeated = counts_in(&change_names, &name) > 1 || counts(stored, &name) > 1;
        if repeated || ch.name.ends_with("Ret") {
            if !repeated_seen.contains(&name) {
                stored.retain(|e| e.name != name);
                repeated_seen.push(name);
            }
            stored.push(ch);
            continue;
        }
        match stored.iter_mut().find(|e| e.name == ch.name) {
            Some(old) if !ch.children.is_empty() && !old.children.is_empty() => {
                if ch.name.ends_with("Ref") {
                    *old = ch;
                } else {
                    merge(&mut old.children, ch.children, &[]);
                }
            }
            Some(old) => *old = ch,
            None => stored.push(ch),
        }
    }
}

fn counts_in(names: &[String], n: &str) -> usize {
    names.iter().filter(|x| *x == n).count()
}

/// The names of elements a Mod sets to empty (`<Phone/>`), which clear
/// the field.
///
/// A reference given with neither a ListID nor a FullName (`<ClassRef/>`,
/// `<ClassRef><FullName></FullName></ClassRef>`) clears it too [I].
pub fn cleared(src: Element<'_>, ret: Decl, skip: &[&str]) -> Vec<String> {
    let empty = |c: &Element<'_>| {
        if !c.has_children() {
            return c.text().is_empty();
        }
        c.name().ends_with("Ref")
            && c.children()
                .all(|g| !g.has_children() && g.text().is_empty())
    };
    // An empty `…Mod` aggregate changes nothing (all its parts are
    // optional); it does not clear what its Add stored.
    src.children()
        .filter(|c| !skip.contains(&c.name()) && !c.name().ends_with("Mod") && empty(c))
        .filter_map(|c| ret_name(c.name(), ret).map(|n| n.to_string()))
        .collect()
}

/// The printed address block of an address as typed: street lines keep
/// their positions (`Addr1`, `Addr3` stay first and third), then
/// "City, State PostalCode" on the next line, then the country — as in
/// QuickBooks' own responses (a sales receipt typed with Addr1 and Addr3
/// prints its city on Addr4 and its country on Addr5).
pub fn address_block(addr: &Elem) -> Option<Elem> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, n) in ["Addr1", "Addr2", "Addr3", "Addr4", "Addr5"]
        .iter()
        .enumerate()
    {
        if let Some(t) = addr.get(n).map(|e| e.text.trim()).filter(|t| !t.is_empty()) {
            lines.push((i, t.to_string()));
        }
    }
    let get = |n: &str| {
        addr.get(n)
            .map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let (city, state, zip) = (get("City"), get("State"), get("PostalCode"));
    let mut last = String::new();
    if let Some(c) = &city {
        last.push_str(c);
        if state.is_some() {
            last.push(',');
        }
    }
    for part in [&state, &zip].into_iter().flatten() {
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(part);
    }
    let mut next = lines.last().map(|(i, _)| i + 1).unwrap_or(0);
    if !last.is_empty() {
        lines.push((next, last));
        next += 1;
    }
    if let Some(c) = get("Country") {
        lines.push((next, c));
    }
    if lines.is_empty() {
        return None;
    }
    let mut block = Elem::new(format!("{}Block", addr.name));
    for (i, l) in lines.into_iter().filter(|(i, _)| *i < 5) {
        block.push(Elem::leaf(format!("Addr{}", i + 1), l));
    }
    Some(block)
}

/// US states by name, for [`file_address`].
const US_STATES: &[(&str, &str)] = &[
    ("Alabama", "AL"),
    ("Alaska", "AK"),
    ("Arizona", "AZ"),
    ("Arkansas", "AR"),
    ("California", "CA"),
    ("Colorado", "CO"),
    ("Connecticut", "CT"),
    ("Delaware", "DE"),
    ("District of Columbia", "DC"),
    ("Florida", "FL"),
    ("Georgia", "GA"),
    ("Hawaii", "HI"),
    ("Idaho", "ID"),
    ("Illinois", "IL"),
    ("Indiana", "IN"),
    ("Iowa", "IA"),
    ("Kansas", "KS"),
    ("Kentucky", "KY"),
    ("Louisiana", "LA"),
    ("Maine", "ME"),
    ("Maryland", "MD"),
    ("Massachusetts", "MA"),
    ("Michigan", "MI"),
    ("Minnesota", "MN"),
    ("Mississippi", "MS"),
    ("Missouri", "MO"),
    ("Montana", "MT"),
    ("Nebraska", "NE"),
    ("Nevada", "NV"),
    ("New Hampshire", "NH"),
    ("New Jersey", "NJ"),
    ("New Mexico", "NM"),
    ("New York", "NY"),
    ("North Carolina", "NC"),
    ("North Dakota", "ND"),
    ("Ohio", "OH"),
    ("Oklahoma", "OK"),
    ("Oregon", "OR"),
    ("Pennsylvania", "PA"),
    ("Rhode Island", "RI"),
    ("South Carolina", "SC"),
    ("South Dakota", "SD"),
    ("Tennessee", "TN"),
    ("Texas", "TX"),
    ("Utah", "UT"),
    ("Vermont", "VT"),
    ("Virginia", "VA"),
    ("Washington", "WA"),
    ("West Virginia", "WV"),
    ("Wisconsin", "WI"),
    ("Wyoming", "WY"),
];

/// Store an address the way QuickBooks files it (its responses show the
/// block as typed and the address filed): street lines close up (`Addr1`,
/// `Addr3` → `Addr1`, `Addr2`), a US state's name becomes its code
/// ("Massachusetts" → "MA"), and the United States is "USA" ("US",
/// "United States" → "USA"). Other values are kept as given.
pub fn file_address(addr: &mut Elem) {
    let is_line = |n: &str| matches!(n, "Addr1" | "Addr2" | "Addr3" | "Addr4" | "Addr5");
    let lines: Vec<String> = ["Addr1", "Addr2", "Addr3", "Addr4", "Addr5"]
        .iter()
        .filter_map(|n| addr.get(n).map(|e| e.text.clone()))
        .filter(|t| !t.trim().is_empty())
        .collect();
    addr.children.retain(|c| !is_line(&c.name));
    for (i, l) in lines.into_iter().enumerate().rev() {
        addr.children
            .insert(0, Elem::leaf(format!("Addr{}", i + 1), l));
    }
    for c in addr.children.iter_mut() {
        match c.name.as_ref() {
            "State" => {
                if let Some((_, code)) = US_STATES
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(c.text.trim()))
                {
                    c.text = (*code).to_string();
                }
            }
            "Country" => {
                let t = c.text.trim().to_ascii_lowercase();
                if matches!(
                    t.as_str(),
                    "us" | "u.s." | "u.s.a." | "united states" | "united states of america"
                ) {
                    c.text = "USA".into();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_awkward_text() {
        let items = vec![
            Elem::leaf("Notes", "a:b;c\nlen 3:xyz ü"),
            Elem::new("BillAddress")
                .with("Addr1", "")
                .with("City", "Bayshore"),
            Elem::leaf("Empty", ""),
        ];
        assert_eq!(decode(&encode(&items)), items);
        assert!(decode("lName:99:short").is_empty());
        assert_eq!(decode("oA;lB:1:x").len(), 1);
    }

    #[test]
    fn address_blocks() {
        let a = Elem::new("ShipAddress")
            .with("Addr1", "Kristy Abercrombie")
            .with("City", "Bayshore")
            .with("State", "CA")
            .with("PostalCode", "94326");
        let b = address_block(&a).unwrap();
        assert_eq!(b.name, "ShipAddressBlock");
        assert_eq!(
            b.get("Addr2").map(|e| e.text.as_str()),
            Some("Bayshore, CA 94326")
        );
        // Street lines keep their places; the address is filed closed up.
        let mut typed = Elem::new("BillAddress")
            .with("Addr1", "Tom Test")
            .with("Addr3", "123 Test St")
            .with("City", "Concord")
            .with("State", "Massachusetts")
            .with("PostalCode", "01742")
            .with("Country", "United States");
        let b = address_block(&typed).unwrap();
        let lines: Vec<(&str, &str)> = b
            .children
            .iter()
            .map(|c| (c.name.as_ref(), c.text.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                ("Addr1", "Tom Test"),
                ("Addr3", "123 Test St"),
                ("Addr4", "Concord, Massachusetts 01742"),
                ("Addr5", "United States")
            ]
        );
        file_address(&mut typed);
        assert_eq!(typed.get("Addr2").unwrap().text, "123 Test St");
        assert!(typed.get("Addr3").is_none());
        assert_eq!(typed.get("State").unwrap().text, "MA");
        assert_eq!(typed.get("Country").unwrap().text, "USA");
    }

    #[test]
    fn merge_replaces_leaves_and_repeats() {
        let mut stored = vec![
            Elem::leaf("Phone", "1"),
            Elem::new("BillAddress")
                .with("Addr1", "a")
                .with("City", "c"),
            Elem::new("AdditionalContactRef").with("ContactName", "x"),
            Elem::new("AdditionalContactRef").with("ContactName", "y"),
        ];
        merge(
            &mut stored,
            vec![
                Elem::new("BillAddress").with("City", "d"),
                Elem::new("AdditionalContactRef").with("ContactName", "z"),
            ],
            &["Phone".to_string()],
        );
        assert!(stored.iter().all(|e| e.name != "Phone"));
        let addr = stored.iter().find(|e| e.name == "BillAddress").unwrap();
        assert_eq!(addr.get("Addr1").unwrap().text, "a");
        assert_eq!(addr.get("City").unwrap().text, "d");
        assert_eq!(
            stored
                .iter()
                .filter(|e| e.name == "AdditionalContactRef")
                .count(),
            1
        );
    }
}
