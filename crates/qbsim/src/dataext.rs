//! Custom fields: `DataExtDef` (the definition, per OwnerID) and `DataExt`
//! (a value on a list record). OwnerID `0` is QuickBooks' own custom fields
//! (visible in its UI); a GUID owner is private to an application.
//!
//! Values live in their own table, keyed by record (or `company` for
//! `OtherDataExtType` Company, where applications keep locks and file IDs),
//! and appear in a query's Ret as `DataExtRet` when the query names the
//! owner (`OwnerID`). Values on a transaction (`TxnDataExtType`, `TxnID`)
//! are kept the same way and come back in its Ret with OwnerID; values on
//! transaction lines answer 3250 (feature not available).

use crate::body::leaf;
use crate::custom::{value_ret, COMPANY};
use crate::refs::resolve;
use crate::render::include_of;
use crate::store::{self, Db};
use crate::{status, Res};
use crate::{Answer, Ctx};
use qbxml::{Elem, Element, Request, Status};
use rusqlite::{params, OptionalExtension};

fn def_of(db: &Db, owner: &str, name: &str) -> Res<Option<Vec<Elem>>> {
    let body: Option<String> = db
        .query_row(
            "SELECT body FROM data_ext_def WHERE owner=?1 AND name_key=?2",
            params![owner, name.to_lowercase()],
            |r| r.get(0),
        )
        .optional()
        .map_err(store::StoreError::from)?;
    Ok(body.map(|b| crate::body::decode(&b)))
}

pub fn def_add(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(a) = rq.element().child("DataExtDefAdd") else {
        return Err(status(1000, &[]));
    };
    let owner = a.child_text("OwnerID").unwrap_or("0");
    let name = a.child_text("DataExtName").unwrap_or("");
    if def_of(ctx.db, owner, name)?.is_some() {
        return Err(status(3100, &[("value", name)]));
    }
    let seq: i64 = ctx
        .db
        .query_row(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM data_ext_def",
            [],
            |r| r.get(0),
        )
        .map_err(store::StoreError::from)?;
    let mut items = vec![
        Elem::leaf("OwnerID", owner),
        Elem::leaf("DataExtID", seq.to_string()),
    ];
    for c in a.children().filter(|c| c.name() != "OwnerID") {
        // As QuickBooks prints it: `1` for a boolean comes back `true`.
        let text = match c.schema_position().and_then(|p| p.decl().simple_type()) {
            Some(t) => crate::body::normalise(t.kind(), c.text()),
            None => c.text().to_string(),
        };
        items.push(Elem::leaf(c.name().to_string(), text));
    }
    // The Ret requires these; QuickBooks' defaults when the Add omits them.
    for (n, v) in [
        ("DataExtListRequire", "false"),
        ("DataExtTxnRequire", "false"),
        ("DataExtFormatString", ""),
    ] {
        if !items.iter().any(|e| e.name == n) {
            items.push(Elem::leaf(n, v));
        }
    }
    ctx.db
        .execute(
            "INSERT INTO data_ext_def(owner, name_key, seq, body) VALUES(?1,?2,?3,?4)",
            params![owner, name.to_lowercase(), seq, crate::body::encode(&items)],
        )
        .map_err(store::StoreError::from)?;
    let ret = def_ret(ctx, items, &include_of(rq.element()));
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

fn def_ret(ctx: &Ctx<'_>, items: Vec<Elem>, include: &[String]) -> Elem {
    let mut e = Elem::new("DataExtDefRet");
    e.children = items;
    if let Some(d) = ctx
        .schema
        .response("DataExtDefQueryRs")
        .and_then(|p| p.decl().child("DataExtDefRet"))
    {
        crate::render::fit(&mut e, d.decl(), ctx.version);
        crate::render::include(&mut e, d.decl(), ctx.version, include);
    }
    e
}

pub fn def_query(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let owners: Vec<&str> = e.children_named("OwnerID").map(|o| o.text()).collect();
    let assign: Vec<&str> = e
        .children_named("AssignToObject")
        .map(|o| o.text())
        .collect();
    let mut st = ctx
        .db
        .prepare_cached("SELECT owner, body FROM data_ext_def ORDER BY seq")
        .map_err(store::StoreError::from)?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(store::StoreError::from)?;
    let include = include_of(e);
    let mut items = Vec::new();
    for r in rows {
        let (owner, body) = r.map_err(store::StoreError::from)?;
        if !owners.is_empty() && !owners.contains(&owner.as_str()) {
            continue;
        }
        let def = crate::body::decode(&body);
        if !assign.is_empty()
            && !def
                .iter()
                .any(|d| d.name == "AssignToObject" && assign.contains(&d.text.as_str()))
        {
            continue;
        }
        let ret = def_ret(ctx, def, &include);
        ctx.spend(&ret)?;
        items.push(ret);
    }
    Ok(Answer::found(items))
}

/// The record a DataExt request is about, checked against the definition.
fn target(ctx: &Ctx<'_>, a: Element<'_>) -> Res<(String, Vec<Elem>)> {
    let owner = a.child_text("OwnerID").unwrap_or("0");
    let name = a.child_text("DataExtName").unwrap_or("");
    let Some(def) = def_of(ctx.db, owner, name)? else {
        return Err(status(3120, &[("value", name)]));
    };
    if a.child_text("OtherDataExtType") == Some("Company") {
        // Company-level values (applications keep locks and file IDs here).
        if !def
            .iter()
            .any(|d| d.name == "AssignToObject" && d.text == "Company")
        {
            return Err(status(
                3140,
                &[
                    ("type", "Company"),
                    ("value", "Company"),
                    ("object", "DataExt"),
                ],
            ));
        }
        return Ok((COMPANY.to_string(), def));
    }
    if let Some(txn_type) = a.child_text("TxnDataExtType") {
        // A value on a transaction (not on one of its lines).
        if a.child("TxnLineID").is_some() {
            return Err(status(3250, &[]));
        }
        let id = a.child_text("TxnID").unwrap_or("");
        let found = store::get_txn(ctx.db, id)?.filter(|t| t.kind == txn_type);
        let Some(t) = found else {
            return Err(status(3120, &[("value", id)]));
        };
        if !def
            .iter()
            .any(|d| d.name == "AssignToObject" && d.text == txn_type)
        {
            return Err(status(
                3140,
                &[("type", txn_type), ("value", id), ("object", "DataExt")],
            ));
        }
        return Ok((store::key("Txn", &t.id), def));
    }
    let Some(list_type) = a.child_text("ListDataExtType") else {
        return Err(status(3250, &[]));
    };
    let assigned = def
        .iter()
        .any(|d| d.name == "AssignToObject" && d.text == list_type);
    let object = a.child("ListObjRef");
    let list_id = object.and_then(|o| o.child_text("ListID"));
    let full_name = object.and_then(|o| o.child_text("FullName"));
    let targets: Vec<_> = match list_type {
        "Customer" | "Vendor" | "Employee" | "OtherName" | "Account" => {
            crate::kinds::kind(list_type).into_iter().collect()
        }
        "Item" => crate::kinds::KINDS
            .iter()
            .filter(|k| k.namespace == "Item")
            .collect(),
        _ => Vec::new(),
    };
    let row = resolve(
        ctx,
        &targets,
        &crate::body::RefRequest {
            name: "ListObjRef",
            list_id,
            full_name,
        },
        "DataExt",
    )?;
    if !assigned {
        return Err(status(
            3140,
            &[
                ("type", list_type),
                ("value", &row.full_name),
                ("object", "DataExt"),
            ],
        ));
    }
    Ok((store::key(&row.ns, &row.id), def))
}

/// DataExtAdd and DataExtMod: set a value (Add refuses an existing one,
/// Mod a missing one).
pub fn set(ctx: &Ctx<'_>, rq: &Request<'_>, is_add: bool) -> Res<Answer> {
    let agg = if is_add { "DataExtAdd" } else { "DataExtMod" };
    let Some(a) = rq.element().child(agg) else {
        return Err(status(1000, &[]));
    };
    let (obj, def) = target(ctx, a)?;
    let owner = a.child_text("OwnerID").unwrap_or("0");
    let name = leaf(&def, "DataExtName").unwrap_or("").to_string();
    let value = a.child_text("DataExtValue").unwrap_or("");
    let exists = value_of(ctx.db, &obj, owner, &name)?.is_some();
    if is_add && exists {
        return Err(status(3100, &[("value", &name)]));
    }
    if !is_add && !exists {
        return Err(status(3120, &[("value", &name)]));
    }
    ctx.db
        .execute(
            "INSERT INTO data_ext(obj, owner, name_key, name, value) VALUES(?1,?2,?3,?4,?5) \
             ON CONFLICT(obj, owner, name_key) DO UPDATE SET value=?5",
            params![obj, owner, name.to_lowercase(), name, value],
        )
        .map_err(store::StoreError::from)?;
    Ok(Answer {
        status: Status::ok(),
        items: vec![value_ret(owner, &name, &def, value)],
        ..Answer::default()
    })
}

fn value_of(db: &Db, obj: &str, owner: &str, name: &str) -> Res<Option<String>> {
    Ok(db
        .query_row(
            "SELECT value FROM data_ext WHERE obj=?1 AND owner=?2 AND name_key=?3",
            params![obj, owner, name.to_lowercase()],
            |r| r.get(0),
        )
        .optional()
        .map_err(store::StoreError::from)?)
}

pub fn del(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(a) = rq.element().child("DataExtDel") else {
        return Err(status(1000, &[]));
    };
    let (obj, def) = target(ctx, a)?;
    let owner = a.child_text("OwnerID").unwrap_or("0");
    let name = leaf(&def, "DataExtName").unwrap_or("").to_string();
    if value_of(ctx.db, &obj, owner, &name)?.is_none() {
        return Err(status(3120, &[("value", &name)]));
    }
    ctx.db
        .execute(
            "DELETE FROM data_ext WHERE obj=?1 AND owner=?2 AND name_key=?3",
            params![obj, owner, name.to_lowercase()],
        )
        .map_err(store::StoreError::from)?;
    let (ns, id) = obj.split_once('/').unwrap_or(("", &obj));
    let full = store::full_name(ctx.db, ns, id)?.unwrap_or_default();
    let id = id.to_string();
    let on_company = obj == COMPANY;
    let mut ret = Elem::new("DataExtDelRet")
        .with("OwnerID", owner)
        .with("DataExtName", name);
    if on_company {
        ret.push(Elem::leaf("OtherDataExtType", "Company"));
    } else {
        ret.push(Elem::leaf(
            "ListDataExtType",
            a.child_text("ListDataExtType").unwrap_or(""),
        ));
        ret.push(
            Elem::new("ListObjRef")
                .with("ListID", id)
                .with("FullName", full),
        );
    }
    ret.push(Elem::leaf("TimeDeleted", ctx.tz.format(ctx.now)));
    if let Some(d) = ctx
        .schema
        .response("DataExtDelRs")
        .and_then(|p| p.decl().child("DataExtDelRet"))
    {
        crate::render::fit(&mut ret, d.decl(), ctx.version);
    }
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

/// `DataExtDefMod`: rename a definition (its values follow: they are kept
/// by name), assign it to more objects or remove it from some (values on
/// the objects it leaves go with it [I]), and change what it requires.
pub fn def_mod(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(m) = rq.element().child("DataExtDefMod") else {
        return Err(status(1000, &[]));
    };
    let owner = m.child_text("OwnerID").unwrap_or("0");
    let name = m.child_text("DataExtName").unwrap_or("");
    let Some(mut def) = def_of(ctx.db, owner, name)? else {
        return Err(status(3120, &[("value", name)]));
    };
    let mut key = name.to_lowercase();
    if let Some(new) = m.child_text("DataExtNewName").filter(|n| !n.is_empty()) {
        if !new.eq_ignore_ascii_case(name) && def_of(ctx.db, owner, new)?.is_some() {
            return Err(status(3100, &[("value", new)]));
        }
        for d in def.iter_mut().filter(|d| d.name == "DataExtName") {
            d.text = new.to_string();
        }
        ctx.db
            .execute(
                "UPDATE data_ext SET name_key=?3, name=?4 WHERE owner=?1 AND name_key=?2",
                params![owner, key, new.to_lowercase(), new],
            )
            .map_err(store::StoreError::from)?;
        ctx.db
            .execute(
                "UPDATE data_ext_def SET name_key=?3 WHERE owner=?1 AND name_key=?2",
                params![owner, key, new.to_lowercase()],
            )
            .map_err(store::StoreError::from)?;
        key = new.to_lowercase();
    }
    for a in m.children_named("AssignToObject") {
        let already = def
            .iter()
            .any(|d| d.name == "AssignToObject" && d.text == a.text());
        if !already {
            def.push(Elem::leaf("AssignToObject", a.text()));
        }
    }
    let removed: Vec<&str> = m
        .children_named("RemoveFromObject")
        .map(|r| r.text())
        .collect();
    def.retain(|d| !(d.name == "AssignToObject" && removed.contains(&d.text.as_str())));
    for n in [
        "DataExtListRequire",
        "DataExtTxnRequire",
        "DataExtFormatString",
    ] {
        if let Some(v) = m.child(n) {
            let text = match v.schema_position().and_then(|p| p.decl().simple_type()) {
                Some(t) => crate::body::normalise(t.kind(), v.text()),
                None => v.text().to_string(),
            };
            match def.iter_mut().find(|d| d.name == n) {
                Some(d) => d.text = text,
                None => def.push(Elem::leaf(n, text)),
            }
        }
    }
    if !removed.is_empty() {
        remove_values(ctx, owner, &key, &removed)?;
    }
    ctx.db
        .execute(
            "UPDATE data_ext_def SET body=?3 WHERE owner=?1 AND name_key=?2",
            params![owner, key, crate::body::encode(&def)],
        )
        .map_err(store::StoreError::from)?;
    let ret = def_ret(ctx, def, &include_of(rq.element()));
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

/// Drop a field's values on the kinds of object it no longer applies to.
fn remove_values(ctx: &Ctx<'_>, owner: &str, key: &str, objects: &[&str]) -> Res<()> {
    let mut st = ctx
        .db
        .prepare_cached("SELECT obj FROM data_ext WHERE owner=?1 AND name_key=?2")
        .map_err(store::StoreError::from)?;
    let objs: Vec<String> = st
        .query_map(params![owner, key], |r| r.get(0))
        .map_err(store::StoreError::from)?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    for obj in objs {
        // The object types AssignToObject names: a list or transaction
        // type, `Item` for every item, `Company`.
        let leaves = if obj == COMPANY {
            objects.contains(&"Company")
        } else {
            let (ns, id) = obj.split_once('/').unwrap_or(("", &obj));
            let kind = if ns == "Txn" {
                store::get_txn(ctx.db, id)?.map(|t| t.kind)
            } else {
                store::get(ctx.db, ns, id)?.map(|r| r.kind)
            };
            kind.is_some_and(|k| objects.contains(&k.as_str()))
                || (ns == "Item" && objects.contains(&"Item"))
        };
        if leaves {
            ctx.db
                .execute(
                    "DELETE FROM data_ext WHERE obj=?1 AND owner=?2 AND name_key=?3",
                    params![obj, owner, key],
                )
                .map_err(store::StoreError::from)?;
        }
    }
    Ok(())
}

/// `DataExtDefDel`: the definition and every value of it.
pub fn def_del(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let owner = e.child_text("OwnerID").unwrap_or("0");
    let name = e.child_text("DataExtName").unwrap_or("");
    let Some(def) = def_of(ctx.db, owner, name)? else {
        return Err(status(3120, &[("value", name)]));
    };
    let key = name.to_lowercase();
    for sql in [
        "DELETE FROM data_ext WHERE owner=?1 AND name_key=?2",
        "DELETE FROM data_ext_def WHERE owner=?1 AND name_key=?2",
    ] {
        ctx.db
            .execute(sql, params![owner, key])
            .map_err(store::StoreError::from)?;
    }
    let ret = Elem::new("DataExtDefDelRet")
        .with("OwnerID", owner)
        .with("DataExtName", leaf(&def, "DataExtName").unwrap_or(name))
        .with("TimeDeleted", ctx.tz.format(ctx.now));
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}
