//! QuickBooks' arithmetic over a mapped transaction (FACTS §5
//! "Totals"): line amounts from quantity and rate, subtotal, sales tax
//! from the taxable lines, totals and open balances, in cents, bounded.

use super::map::*;
use super::Draft;
use crate::body::leaf;
use crate::ledger::{self};
use crate::store::{self};
use crate::txnkinds::Role;
use crate::txnret::line_family;
use crate::{invalid, Res};
use crate::{Ctx, Record};
use qbxml::Elem;
use store::MAX_CENTS;

pub(super) fn num(s: Option<&str>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok())
}

pub(super) fn round_cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// The largest quantity on a line or adjustment (ten billion units).
pub(super) const MAX_QTY: f64 = 10_000_000_000.0;

pub(super) fn in_range(field: &str, cents: i64) -> Res<i64> {
    if cents.abs() > MAX_CENTS {
        return Err(invalid(
            field,
            &store::money(cents.clamp(-MAX_CENTS * 10, MAX_CENTS * 10)),
            "The amount is too large.",
        ));
    }
    Ok(cents)
}

/// A price as QuickBooks prints it: at least two decimals, at most five.
pub(super) fn price_text(x: f64) -> String {
    let s = format!("{x:.5}");
    let s = s.trim_end_matches('0');
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut f = frac.to_string();
    while f.len() < 2 {
        f.push('0');
    }
    format!("{whole}.{f}")
}

/// What the line arithmetic and postings need to know of an item.
pub(super) struct Item {
    pub(super) rec: Record,
}

impl Item {
    pub(super) fn row(&self) -> &store::Row {
        &self.rec.0
    }

    pub(super) fn kind(&self) -> &str {
        &self.rec.0.kind
    }

    pub(super) fn get(&self, path: &[&str]) -> Option<&Elem> {
        let mut cur = self.rec.1.iter().find(|e| e.name == path[0])?;
        for p in &path[1..] {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    pub(super) fn text(&self, paths: &[&[&str]]) -> Option<String> {
        paths
            .iter()
            .find_map(|p| self.get(p).map(|e| e.text.clone()))
    }

    pub(super) fn ref_id(&self, paths: &[&[&str]]) -> Option<String> {
        paths.iter().find_map(|p| {
            self.get(p)
                .and_then(|e| e.get("ListID"))
                .map(|e| e.text.clone())
        })
    }

    pub(super) fn sales_price(&self) -> Option<f64> {
        num(self
            .text(&[
                &["SalesPrice"],
                &["SalesOrPurchase", "Price"],
                &["SalesAndPurchase", "SalesPrice"],
            ])
            .as_deref())
    }

    pub(super) fn purchase_cost(&self) -> Option<f64> {
        num(self
            .text(&[
                &["PurchaseCost"],
                &["SalesOrPurchase", "Price"],
                &["SalesAndPurchase", "PurchaseCost"],
            ])
            .as_deref())
    }

    pub(super) fn sales_desc(&self) -> Option<String> {
        self.text(&[
            &["SalesDesc"],
            &["SalesOrPurchase", "Desc"],
            &["SalesAndPurchase", "SalesDesc"],
            &["ItemDesc"],
        ])
    }

    pub(super) fn purchase_desc(&self) -> Option<String> {
        self.text(&[
            &["PurchaseDesc"],
            &["SalesOrPurchase", "Desc"],
            &["SalesAndPurchase", "PurchaseDesc"],
        ])
    }

    pub(super) fn income_account(&self) -> Option<String> {
        self.ref_id(&[
            &["IncomeAccountRef"],
            &["SalesOrPurchase", "AccountRef"],
            &["SalesAndPurchase", "IncomeAccountRef"],
            &["AccountRef"],
            &["DepositToAccountRef"],
        ])
        .or_else(|| self.fixed_asset_account())
    }

    pub(super) fn expense_account(&self) -> Option<String> {
        self.ref_id(&[
            &["SalesOrPurchase", "AccountRef"],
            &["SalesAndPurchase", "ExpenseAccountRef"],
            &["AccountRef"],
        ])
        .or_else(|| self.fixed_asset_account())
    }

    /// A fixed asset is bought into, and sold out of, its asset account.
    fn fixed_asset_account(&self) -> Option<String> {
        (self.kind() == "ItemFixedAsset")
            .then(|| self.ref_id(&[&["AssetAccountRef"]]))
            .flatten()
    }

    pub(super) fn is_inventory(&self) -> bool {
        crate::kinds::is_stocked(self.kind())
    }

    /// Average cost of `qty` units now.
    pub(super) fn cost_of(&self, qty: i64) -> i64 {
        cost_at(self.row().qty, self.row().value, self, qty)
    }
}

pub(super) fn item(ctx: &Ctx<'_>, line: &[Elem]) -> Res<Option<Item>> {
    let Some(id) = ledger::ref_id(line, "ItemRef") else {
        return Ok(None);
    };
    Ok(list_body(ctx, "Item", &id)?.map(|rec| Item { rec }))
}

/// Is the sales tax code `id` taxable?
pub(super) fn taxable(ctx: &Ctx<'_>, id: Option<&str>) -> Res<bool> {
    let Some(id) = id else { return Ok(false) };
    Ok(
        list_body(ctx, "SalesTaxCode", id)?
            .is_some_and(|r| leaf(&r.1, "IsTaxable") == Some("true")),
    )
}

pub(super) fn tax_code_id(ctx: &Ctx<'_>, name: &str) -> Res<Option<String>> {
    Ok(store::by_name(ctx.db, "SalesTaxCode", name)?.map(|r| r.id))
}

/// Totals of a transaction: what it is for, and how much of that is tax.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) total: i64,
    pub(super) tax: i64,
}

/// Line arithmetic and totals, written into the draft.
pub(super) fn compute(ctx: &Ctx<'_>, d: &mut Draft<'_>) -> Res<Totals> {
    let kind = d.kind;
    let ret = d.ret;
    let sale = matches!(kind.role, Role::Sale { .. }) || ret.child("SalesTaxTotal").is_some();
    let customer_taxable = match ledger::ref_id(&d.items, "CustomerSalesTaxCodeRef") {
        Some(c) => taxable(ctx, Some(&c))?,
        None => true,
    };
    let non = tax_code_id(ctx, "Non")?;
    let mut subtotal = 0i64;
    let mut taxable_sum = 0i64;
    let mut since_subtotal = 0i64;
    let mut prev = 0i64;
    let mut debits = 0i64;
    let mut credits = 0i64;
    let mut items = std::mem::take(&mut d.items);
    for line in items.iter_mut() {
        let Some(family) = line_family(&line.name, ret) else {
            continue;
        };
        let decl = ret.child(family).map(|p| p.decl());
        let has = |n: &str| decl.is_some_and(|dd| dd.child(n).is_some());
        let it = item(ctx, &line.children)?;
        let c = &mut line.children;
        let amount;
        if family == "InventoryAdjustmentLineRet" {
            continue;
        } else if let Some(it) = it.as_ref().filter(|_| has("Rate") || has("Cost")) {
            let price_field: &'static str = if has("Rate") { "Rate" } else { "Cost" };
            if leaf(c, "Desc").is_none() && has("Desc") {
                let desc = if price_field == "Rate" && sale {
                    it.sales_desc()
                } else {
                    it.purchase_desc().or_else(|| it.sales_desc())
                };
                if let Some(t) = desc.filter(|t| !t.is_empty()) {
                    c.push(Elem::leaf("Desc", t));
                }
            }
            let qty = num(leaf(c, "Quantity"));
            if qty.is_some_and(|q| q.abs() > MAX_QTY) {
                return Err(invalid(
                    "Quantity",
                    leaf(c, "Quantity").unwrap_or(""),
                    "The quantity is too large.",
                ));
            }
            let given = leaf(c, "Amount").map(store::cents);
            match it.kind() {
                "ItemSubtotal" => {
                    amount = since_subtotal;
                    since_subtotal = 0;
                    set_leaf(c, "Amount", store::money(amount));
                    prev = amount;
                    continue;
                }
                "ItemDiscount" | "ItemSalesTax" if given.is_none() => {
                    let pct = num(leaf(c, "RatePercent")).or_else(|| {
                        num(it
                            .text(&[&["DiscountRatePercent"], &["TaxRate"]])
                            .as_deref())
                    });
                    let rate = num(leaf(c, price_field))
                        .or_else(|| num(it.text(&[&["DiscountRate"]]).as_deref()));
                    let sign = if it.kind() == "ItemDiscount" {
                        -1.0
                    } else {
                        1.0
                    };
                    amount = match (rate, pct) {
                        (Some(r), _) => round_cents(sign * r.abs()),
                        (None, Some(p)) => {
                            if has("RatePercent") && leaf(c, "RatePercent").is_none() {
                                c.push(Elem::leaf("RatePercent", price_text(p)));
                            }
                            round_cents(sign * p.abs() / 100.0 * prev as f64 / 100.0)
                        }
                        (None, None) => 0,
                    };
                }
                _ => {
                    let rate = num(leaf(c, price_field)).or_else(|| {
                        if price_field == "Rate" && sale {
                            it.sales_price()
                        } else {
                            it.purchase_cost()
                        }
                    });
                    amount = match (given, rate) {
                        (Some(a), _) => a,
                        (None, Some(r)) => round_cents(qty.unwrap_or(1.0) * r),
                        (None, None) => 0,
                    };
                    let shown = match rate {
                        Some(r) if leaf(c, "RatePercent").is_none() => Some(r),
                        _ if leaf(c, "RatePercent").is_some() => None,
                        _ => Some(amount as f64 / 100.0 / qty.filter(|q| *q != 0.0).unwrap_or(1.0)),
                    };
                    if let Some(r) = shown {
                        set_leaf(c, price_field, price_text(r));
                    }
                }
            }
            if sale && has("SalesTaxCodeRef") && ledger::ref_id(c, "SalesTaxCodeRef").is_none() {
                let code = it.ref_id(&[&["SalesTaxCodeRef"]]).or_else(|| non.clone());
                if let Some(code) = code {
                    c.push(Elem::new("SalesTaxCodeRef").with("ListID", code));
                }
            }
        } else {
            amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
        }
        let amount = in_range("Amount", amount)?;
        if has("Amount") {
            set_leaf(c, "Amount", store::money(amount));
        }
        if family == "JournalCreditLine" {
            credits += amount;
        } else {
            debits += amount;
        }
        if sale
            && customer_taxable
            && taxable(ctx, ledger::ref_id(c, "SalesTaxCodeRef").as_deref())?
        {
            taxable_sum += amount;
        }
        subtotal += amount;
        since_subtotal += amount;
        prev = amount;
    }
    d.items = items;
    let mut t = Totals::default();
    if d.ret.child("SalesTaxTotal").is_some() {
        let pct = match ledger::ref_id(&d.items, "ItemSalesTaxRef") {
            Some(id) => tax_rate(ctx, &id)?,
            None => 0.0,
        };
        t.tax = round_cents(taxable_sum as f64 / 100.0 * pct / 100.0);
        set_leaf(&mut d.items, "Subtotal", store::money(subtotal));
        set_leaf(&mut d.items, "SalesTaxPercentage", price_text(pct));
        set_leaf(&mut d.items, "SalesTaxTotal", store::money(t.tax));
        t.total = subtotal + t.tax;
    } else if kind.role == Role::Journal {
        if debits != credits {
            return Err(invalid(
                "JournalCreditLine Amount",
                &store::money(credits),
                "Transaction not in balance.  The total of the debits must equal the total of the credits.",
            ));
        }
        t.total = debits;
    } else {
        t.total = subtotal;
    }
    match kind.role {
        Role::Charge => t.total = super::billable::charge(ctx, d)?,
        Role::Transfer => {
            let amount = in_range(
                "Amount",
                leaf(&d.items, "Amount").map(store::cents).unwrap_or(0),
            )?;
            set_leaf(&mut d.items, "Amount", store::money(amount));
            t.total = amount;
        }
        Role::Build => super::stock::build(ctx, d)?,
        Role::Record => {
            super::billable::time_and_mileage(ctx, d)?;
            if kind.name == "TransferInventory" {
                super::stock::transfer(ctx, d)?;
            }
        }
        _ => {}
    }
    if kind.role == Role::Deposit {
        if let Some(cb) = d.items.iter().find(|e| e.name == "CashBackInfoRet") {
            t.total -= leaf(&cb.children, "Amount").map(store::cents).unwrap_or(0);
        }
    }
    Ok(t)
}

/// The value of `qty` units at the average cost of `value` over `on_hand`.
pub(super) fn cost_at(on_hand: i64, value: i64, it: &Item, qty: i64) -> i64 {
    if on_hand > 0 {
        ((value as i128 * qty as i128) / on_hand as i128)
            .clamp(-(MAX_CENTS as i128) * 10, MAX_CENTS as i128 * 10) as i64
    } else {
        round_cents(it.purchase_cost().unwrap_or(0.0) * qty as f64 / ledger::QTY_SCALE)
    }
}

/// The rate of a sales tax item, or of a sales tax group: the sum of its
/// items' rates (QuickBooks charges each and shows the group's total).
fn tax_rate(ctx: &Ctx<'_>, id: &str) -> Res<f64> {
    let Some(r) = list_body(ctx, "Item", id)? else {
        return Ok(0.0);
    };
    if r.0.kind != "ItemSalesTaxGroup" {
        return Ok(num(leaf(&r.1, "TaxRate")).unwrap_or(0.0));
    }
    let mut sum = 0.0;
    for e in r.1.iter().filter(|e| e.name == "ItemSalesTaxRef") {
        if let Some(member) = e.get("ListID").map(|l| l.text.to_string()) {
            if let Some(m) = list_body(ctx, "Item", &member)? {
                sum += num(leaf(&m.1, "TaxRate")).unwrap_or(0.0);
            }
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_like_quickbooks() {
        assert_eq!(price_text(103.0), "103.00");
        assert_eq!(price_text(12.345), "12.345");
        assert_eq!(price_text(0.5), "0.50");
    }
}
