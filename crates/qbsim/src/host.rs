//! HostQuery, CompanyQuery, PreferencesQuery and CompanyActivityQuery:
//! what QuickBooks says about itself and the open company file.
//!
//! The Host answer is QuickBooks 2023 (qbXML 16.0, MajorVersion 33); the
//! company and preferences records are stored in the file (`meta` table)
//! so a sample company can carry its own.

use crate::render::fit;
use crate::store::{self, Db};
use crate::Res;
use crate::{Answer, Ctx};
use qbxml::{Elem, Request, Status, Version};

/// QuickBooks' file mode, reported by HostQuery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileMode {
    #[default]
    SingleUser,
    MultiUser,
}

pub fn host(ctx: &Ctx<'_>, rq: &Request<'_>, mode: FileMode) -> Res<Answer> {
    let mut h = Elem::new("HostRet")
        .with("ProductName", "QuickBooks Pro 2023")
        .with("MajorVersion", "33")
        .with("MinorVersion", "0")
        .with("Country", "US");
    for v in Version::SUPPORTED {
        h.push(Elem::leaf("SupportedQBXMLVersion", v.to_string()));
    }
    h.push(Elem::leaf("IsAutomaticLogin", "false"));
    h.push(Elem::leaf(
        "QBFileMode",
        match mode {
            FileMode::SingleUser => "SingleUser",
            FileMode::MultiUser => "MultiUser",
        },
    ));
    single(ctx, rq, "HostQueryRs", h)
}

pub fn company(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let mut c = Elem::new("CompanyRet");
    c.children = stored(ctx.db, "company")?;
    let owners: Vec<String> = rq
        .element()
        .children_named("OwnerID")
        .map(|o| o.text().to_string())
        .collect();
    if !owners.is_empty() {
        c.children.extend(crate::custom::rets_for(
            ctx.db,
            crate::custom::COMPANY,
            &owners,
        ));
    }
    single(ctx, rq, "CompanyQueryRs", c)
}

pub fn preferences(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let mut p = Elem::new("PreferencesRet");
    p.children = stored(ctx.db, "preferences")?;
    single(ctx, rq, "PreferencesQueryRs", p)
}

/// When the file was last restored from a backup or condensed. A
/// simulated company file is never either: the Ret is empty (both
/// children are optional) [I].
pub fn company_activity(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    single(
        ctx,
        rq,
        "CompanyActivityQueryRs",
        Elem::new("CompanyActivityRet"),
    )
}

fn stored(db: &Db, key: &str) -> Res<Vec<Elem>> {
    Ok(store::meta(db, key)?
        .map(|b| crate::body::decode(&b))
        .unwrap_or_default())
}

fn single(ctx: &Ctx<'_>, rq: &Request<'_>, rs: &str, mut ret: Elem) -> Res<Answer> {
    if let Some(d) = ctx
        .schema
        .response(rs)
        .and_then(|p| p.decl().child(&ret.name))
    {
        fit(&mut ret, d.decl(), ctx.version);
        let include = crate::render::include_of(rq.element());
        crate::render::include(&mut ret, d.decl(), ctx.version, &include);
    }
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

/// A new file's company record: the name, an address, the fiscal year.
pub fn default_company(name: &str) -> Vec<Elem> {
    vec![
        Elem::leaf("IsSampleCompany", "false"),
        Elem::leaf("CompanyName", name),
        Elem::leaf("LegalCompanyName", name),
        Elem::leaf("FirstMonthFiscalYear", "January"),
        Elem::leaf("FirstMonthIncomeTaxYear", "January"),
        Elem::leaf("TaxForm", "OtherOrNone"),
    ]
}

/// A new file's preferences, in the shape of a real PreferencesRet.
pub fn default_preferences() -> Vec<Elem> {
    vec![
        Elem::new("AccountingPreferences")
            .with("IsUsingAccountNumbers", "true")
            .with("IsRequiringAccounts", "true")
            .with("IsUsingClassTracking", "true")
            .with("IsUsingAuditTrail", "true")
            .with("IsAssigningJournalEntryNumbers", "true"),
        Elem::new("FinanceChargePreferences")
            .with("AnnualInterestRate", "0.00")
            .with("MinFinanceCharge", "0.00")
            .with("GracePeriod", "0")
            .with("IsAssessingForOverdueCharges", "false")
            .with("CalculateChargesFrom", "DueDate")
            .with("IsMarkedToBePrinted", "false"),
        Elem::new("JobsAndEstimatesPreferences")
            .with("IsUsingEstimates", "true")
            .with("IsUsingProgressInvoicing", "false")
            .with("IsPrintingItemsWithZeroAmounts", "false"),
        Elem::new("MultiCurrencyPreferences").with("IsMultiCurrencyOn", "false"),
        Elem::new("PurchasesAndVendorsPreferences")
            .with("IsUsingInventory", "true")
            .with("DaysBillsAreDue", "10")
            .with("IsAutomaticallyUsingDiscounts", "false"),
        Elem::new("ReportsPreferences")
            .with("AgingReportBasis", "AgeFromDueDate")
            .with("SummaryReportBasis", "Accrual"),
        Elem::new("SalesAndCustomersPreferences")
            .with("IsTrackingReimbursedExpensesAsIncome", "false")
            .with("IsAutoApplyingPayments", "true")
            .child(
                Elem::new("PriceLevels")
                    .with("IsUsingPriceLevels", "true")
                    .with("IsRoundingSalesPriceUp", "true"),
            ),
        Elem::new("TimeTrackingPreferences").with("FirstDayOfWeek", "Monday"),
        Elem::new("CurrentAppAccessRights")
            .with("IsAutomaticLoginAllowed", "false")
            .with("IsPersonalDataAccessAllowed", "false"),
    ]
}

/// The home currency's ListID (seeded with every new file).
pub fn home_currency_id(db: &Db) -> Res<Option<String>> {
    Ok(store::meta(db, "home_currency")?)
}

/// `PreferencesMod` (16.0): the closing date is the one preference the SDK
/// may set. It is kept and shown in AccountingPreferences; writes dated
/// on or before it are not refused here [I: QuickBooks asks for the
/// closing date password in its window].
pub fn preferences_mod(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let mut prefs = stored(ctx.db, "preferences")?;
    if let Some(a) = rq
        .element()
        .child("PreferencesMod")
        .and_then(|m| m.child("AccountingPreferencesMod"))
    {
        if let Some(date) = a.child_text("ClosingDate") {
            let acc = match prefs.iter().position(|e| e.name == "AccountingPreferences") {
                Some(i) => &mut prefs[i],
                None => {
                    prefs.push(Elem::new("AccountingPreferences"));
                    let last = prefs.len() - 1;
                    &mut prefs[last]
                }
            };
            acc.children.retain(|c| c.name != "ClosingDate");
            acc.push(Elem::leaf("ClosingDate", date));
            store::set_meta(ctx.db, "preferences", &crate::body::encode(&prefs))?;
        }
    }
    let mut p = Elem::new("PreferencesRet");
    p.children = prefs;
    single(ctx, rq, "PreferencesModRs", p)
}
