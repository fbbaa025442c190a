//! The entries every QuickBooks company file has from the start, made
//! when a file is created: the sales tax codes `Tax` and `Non`, the home
//! currency, the standard form templates, and the company and
//! preferences records.

use crate::store::{self, Db, Row};
use crate::StoreError;
use qbxml::Elem;
use std::path::Path;

/// Entries every QuickBooks company file has: the sales tax codes `Tax` and
/// `Non`, the home currency, the standard form templates, and the company
/// and preferences records. Idempotent.
pub(crate) fn seed(db: &Db, now: i64, path: &Path) -> Result<(), StoreError> {
    if store::meta(db, "seeded")?.is_some() {
        return Ok(());
    }
    let tx = db.unchecked_transaction()?;
    let builtin =
        |kind: &str, ns: &str, name: &str, body: Vec<Elem>| -> Result<String, StoreError> {
            let id = format!("{:X}-{now}", store::next_counter(db, ns)?);
            store::insert(
                db,
                &Row {
                    id: id.clone(),
                    kind: kind.into(),
                    ns: ns.into(),
                    parent: None,
                    name: name.into(),
                    full_name: name.into(),
                    sort_key: name.to_lowercase(),
                    active: true,
                    created: now,
                    modified: now,
                    edit_seq: now,
                    balance: 0,
                    total: 0,
                    body: crate::body::encode(&body),
                    ..Row::default()
                },
            )?;
            Ok(id)
        };
    builtin(
        "SalesTaxCode",
        "SalesTaxCode",
        "Tax",
        vec![
            Elem::leaf("IsTaxable", "true"),
            Elem::leaf("Desc", "Taxable Sales"),
        ],
    )?;
    builtin(
        "SalesTaxCode",
        "SalesTaxCode",
        "Non",
        vec![
            Elem::leaf("IsTaxable", "false"),
            Elem::leaf("Desc", "Non-Taxable Sales"),
        ],
    )?;
    let usd = builtin(
        "Currency",
        "Currency",
        "US Dollar",
        vec![
            Elem::leaf("CurrencyCode", "USD"),
            Elem::new("CurrencyFormat")
                .with("ThousandSeparator", "Comma")
                .with("ThousandSeparatorGrouping", "XX_XXX_XXX")
                .with("DecimalPlaces", "2")
                .with("DecimalSeparator", "Period"),
            Elem::leaf("IsUserDefinedCurrency", "false"),
        ],
    )?;
    store::set_meta(db, "home_currency", &usd)?;
    for (name, t) in [
        ("Attorney's Invoice", "Invoice"),
        ("Custom Credit Memo", "CreditMemo"),
        ("Custom Estimate", "Estimate"),
        ("Custom Purchase Order", "PurchaseOrder"),
        ("Custom Sales Receipt", "SalesReceipt"),
        ("Custom Sales Order", "SalesOrder"),
        ("Intuit Packing Slip", "Invoice"),
        ("Intuit Product Invoice", "Invoice"),
        ("Intuit Professional Invoice", "Invoice"),
        ("Intuit Service Invoice", "Invoice"),
    ] {
        builtin(
            "Template",
            "Template",
            name,
            vec![Elem::leaf("TemplateType", t)],
        )?;
    }
    let company_name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("Company")
        .to_string();
    store::set_meta(
        db,
        "company",
        &crate::body::encode(&crate::host::default_company(&company_name)),
    )?;
    store::set_meta(
        db,
        "preferences",
        &crate::body::encode(&crate::host::default_preferences()),
    )?;
    store::set_meta(db, "seeded", "1")?;
    tx.commit()?;
    Ok(())
}
