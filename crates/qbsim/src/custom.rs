//! Custom field values (`DataExt`) as they come back in a record's Ret:
//! one `DataExtRet` per value of the owners a query names. The requests
//! that define and set them are `dataext.rs`.

use crate::body::leaf;
use crate::store::Db;
use qbxml::Elem;

/// The key of company-level values (`OtherDataExtType` Company).
pub const COMPANY: &str = "company";

pub(crate) fn value_ret(owner: &str, name: &str, def: &[Elem], value: &str) -> Elem {
    Elem::new("DataExtRet")
        .with("OwnerID", owner)
        .with("DataExtName", name)
        .with(
            "DataExtType",
            leaf(def, "DataExtType").unwrap_or("STR255TYPE"),
        )
        .with("DataExtValue", value)
}

/// `DataExtRet` elements of a record for the given owners.
pub fn rets_for(db: &Db, obj: &str, owners: &[String]) -> Vec<Elem> {
    let Ok(mut st) = db.prepare_cached(
        "SELECT v.owner, v.name, v.value, d.body FROM data_ext v \
         LEFT JOIN data_ext_def d ON d.owner=v.owner AND d.name_key=v.name_key \
         WHERE v.obj=?1 ORDER BY v.owner, v.name_key",
    ) else {
        return Vec::new();
    };
    let Ok(rows) = st.query_map([obj], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    }) else {
        return Vec::new();
    };
    rows.flatten()
        .filter(|(o, ..)| owners.iter().any(|w| w == o))
        .map(|(o, n, v, d)| {
            let def = d.map(|b| crate::body::decode(&b)).unwrap_or_default();
            value_ret(&o, &n, &def, &v)
        })
        .collect()
}
