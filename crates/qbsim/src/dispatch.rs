//! The one dispatch table: every request type the simulator answers,
//! resolved once from its name into an [`Op`], and the one handler each
//! `Op` has ([`run`]).
//!
//! The table is built once, on first use, from every request type of the
//! newest schema: [`resolve`] says what each name is (a fixed name, or a
//! list or transaction type's Add/Mod/Query found in `kinds.rs` and
//! `txnkinds.rs`); a name it does not know is not in the table, and is
//! answered 1030 ("not supported by this implementation").
//!
//! To add a request type: a variant of [`Op`], its row in [`resolve`],
//! its arm in [`run`] (the compiler points there), and its handler in the
//! module of its kind. See docs/ARCHITECTURE.md, "How to add".

use crate::kinds::{self, Kind};
use crate::query::Iterators;
use crate::txnkinds::{self, TxnKind};
use crate::{alerts, merge, payroll, sites, status, taxsetup, txnquery, txns};
use crate::{
    barcode, cleared, dataext, display, events, host, inquiries, lists, query, reports, special,
};
use crate::{Answer, Ctx, SimError};
use qbxml::{Request, Version};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a request asks for.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    HostQuery,
    CompanyQuery,
    PreferencesQuery,
    CompanyActivityQuery,
    /// `CustomerAddRq`, `AccountAddRq`, … for a list of `kinds.rs`.
    ListAdd(&'static Kind),
    ListMod(&'static Kind),
    /// A list query; EntityQuery, ItemQuery and TermsQuery span several.
    ListQuery(Vec<&'static Kind>),
    ListDel,
    ListMerge,
    ListDeletedQuery,
    DataExtDefAdd,
    DataExtDefQuery,
    DataExtDefMod,
    DataExtDefDel,
    SpecialAccountAdd,
    SpecialItemAdd,
    /// ListDisplayAdd and ListDisplayMod.
    ListDisplay,
    /// TxnDisplayAdd and TxnDisplayMod.
    TxnDisplay,
    ClearedStatusMod,
    BarCodeQuery,
    /// Paycheck, PayrollLiabilityCheck and payroll adjustment queries.
    PayrollTxnQuery,
    /// PayrollLiabilityAdjustmentAdd, PayrollPriorPaymentAdd,
    /// PayrollYearToDateAdjustmentAdd.
    PayrollTxnAdd,
    EmployeeDefaultQuery,
    EmployeeDefaultMod,
    PreferencesMod,
    QBCommandExec,
    AlertAdd,
    AlertQuery,
    AlertDel,
    ItemSitesQuery,
    Form1099MappingQuery,
    Form1099MappingMod,
    AccountTaxLineInfoQuery,
    DataEventRecoveryInfoQuery,
    DataEventRecoveryInfoDel,
    DataExtAdd,
    DataExtMod,
    DataExtDel,
    /// `InvoiceAddRq`, `BillAddRq`, … for a type of `txnkinds.rs`.
    TxnAdd(&'static TxnKind),
    TxnMod(&'static TxnKind),
    TxnQuery(&'static TxnKind),
    TxnDel,
    TxnVoid,
    TxnDeletedQuery,
    TransactionQuery,
    ReceivePaymentToDepositQuery,
    BillToPayQuery,
    SalesTaxPayableQuery,
    ItemAssembliesCanBuildQuery,
    GeneralSummaryReportQuery,
    GeneralDetailReportQuery,
    CustomDetailReportQuery,
    BudgetSummaryReportQuery,
    CustomSummaryReportQuery,
    JobReportQuery,
    TimeReportQuery,
    /// PayrollSummaryReportQuery and PayrollDetailReportQuery.
    PayrollReportQuery,
    AgingReportQuery,
}

impl Op {
    /// The operation a request name asks for; `None`: not simulated.
    pub fn of(name: &str) -> Option<&'static Op> {
        static TABLE: OnceLock<HashMap<&'static str, Op>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                qbxml::schema::Schema::for_version(Version::LATEST)
                    .request_types()
                    .filter_map(|p| Some((p.name(), resolve(p.name())?)))
                    .collect()
            })
            .get(name)
    }
}

/// Whether the request's answer is one record whatever it asks (what
/// QuickBooks says about itself and the file): cheap to run in place.
pub(crate) fn answers_one_record(name: &str) -> bool {
    matches!(
        Op::of(name),
        Some(Op::HostQuery | Op::CompanyQuery | Op::PreferencesQuery | Op::CompanyActivityQuery)
    )
}

/// Whether a client's request of this name gets a real answer: it is in
/// the table, and is not an Add or Mod of a list clients cannot write.
pub(crate) fn simulates(name: &str) -> bool {
    match Op::of(name) {
        Some(Op::ListAdd(k) | Op::ListMod(k)) => k.writable,
        Some(_) => true,
        None => false,
    }
}

/// The table's rows: what each request name is.
fn resolve(name: &str) -> Option<Op> {
    let fixed = match name {
        "HostQueryRq" => Some(Op::HostQuery),
        "CompanyQueryRq" => Some(Op::CompanyQuery),
        "PreferencesQueryRq" => Some(Op::PreferencesQuery),
        "CompanyActivityQueryRq" => Some(Op::CompanyActivityQuery),
        "ListDelRq" => Some(Op::ListDel),
        "ListMergeRq" => Some(Op::ListMerge),
        "ListDeletedQueryRq" => Some(Op::ListDeletedQuery),
        "DataExtDefAddRq" => Some(Op::DataExtDefAdd),
        "DataExtDefQueryRq" => Some(Op::DataExtDefQuery),
        "DataExtDefModRq" => Some(Op::DataExtDefMod),
        "DataExtDefDelRq" => Some(Op::DataExtDefDel),
        "SpecialAccountAddRq" => Some(Op::SpecialAccountAdd),
        "SpecialItemAddRq" => Some(Op::SpecialItemAdd),
        "ListDisplayAddRq" | "ListDisplayModRq" => Some(Op::ListDisplay),
        "TxnDisplayAddRq" | "TxnDisplayModRq" => Some(Op::TxnDisplay),
        "ClearedStatusModRq" => Some(Op::ClearedStatusMod),
        "BarCodeQueryRq" => Some(Op::BarCodeQuery),
        "PaycheckQueryRq"
        | "PayrollLiabilityCheckQueryRq"
        | "PayrollLiabilityAdjustmentQueryRq"
        | "PayrollPriorPaymentQueryRq"
        | "PayrollYearToDateAdjustmentQueryRq" => Some(Op::PayrollTxnQuery),
        "PayrollLiabilityAdjustmentAddRq"
        | "PayrollPriorPaymentAddRq"
        | "PayrollYearToDateAdjustmentAddRq" => Some(Op::PayrollTxnAdd),
        "EmployeeDefaultQueryRq" => Some(Op::EmployeeDefaultQuery),
        "EmployeeDefaultModRq" => Some(Op::EmployeeDefaultMod),
        "PreferencesModRq" => Some(Op::PreferencesMod),
        "QBCommandExecRq" => Some(Op::QBCommandExec),
        "AlertAddRq" => Some(Op::AlertAdd),
        "AlertQueryRq" => Some(Op::AlertQuery),
        "AlertDelRq" => Some(Op::AlertDel),
        "ItemSitesQueryRq" => Some(Op::ItemSitesQuery),
        "Form1099CategoryAccountMappingQueryRq" => Some(Op::Form1099MappingQuery),
        "Form1099CategoryAccountMappingModRq" => Some(Op::Form1099MappingMod),
        "AccountTaxLineInfoQueryRq" => Some(Op::AccountTaxLineInfoQuery),
        "DataEventRecoveryInfoQueryRq" => Some(Op::DataEventRecoveryInfoQuery),
        "DataEventRecoveryInfoDelRq" => Some(Op::DataEventRecoveryInfoDel),
        "DataExtAddRq" => Some(Op::DataExtAdd),
        "DataExtModRq" => Some(Op::DataExtMod),
        "DataExtDelRq" => Some(Op::DataExtDel),
        "TxnDelRq" => Some(Op::TxnDel),
        "TxnVoidRq" => Some(Op::TxnVoid),
        "TxnDeletedQueryRq" => Some(Op::TxnDeletedQuery),
        "TransactionQueryRq" => Some(Op::TransactionQuery),
        "ReceivePaymentToDepositQueryRq" => Some(Op::ReceivePaymentToDepositQuery),
        "BillToPayQueryRq" => Some(Op::BillToPayQuery),
        "SalesTaxPayableQueryRq" => Some(Op::SalesTaxPayableQuery),
        "ItemAssembliesCanBuildQueryRq" => Some(Op::ItemAssembliesCanBuildQuery),
        "GeneralSummaryReportQueryRq" => Some(Op::GeneralSummaryReportQuery),
        "GeneralDetailReportQueryRq" => Some(Op::GeneralDetailReportQuery),
        "CustomDetailReportQueryRq" => Some(Op::CustomDetailReportQuery),
        "BudgetSummaryReportQueryRq" => Some(Op::BudgetSummaryReportQuery),
        "CustomSummaryReportQueryRq" => Some(Op::CustomSummaryReportQuery),
        "JobReportQueryRq" => Some(Op::JobReportQuery),
        "TimeReportQueryRq" => Some(Op::TimeReportQuery),
        "PayrollSummaryReportQueryRq" | "PayrollDetailReportQueryRq" => {
            Some(Op::PayrollReportQuery)
        }
        "AgingReportQueryRq" => Some(Op::AgingReportQuery),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    // A transaction type's Add, Mod and Query (before the lists: a
    // transaction type is never a list's name).
    let txn = |suffix: &str| name.strip_suffix(suffix).and_then(txnkinds::txn_kind);
    if let Some(k) = txn("AddRq") {
        return Some(Op::TxnAdd(k));
    }
    if let Some(k) = txn("ModRq") {
        return Some(Op::TxnMod(k));
    }
    if let Some(k) = txn("QueryRq") {
        return Some(Op::TxnQuery(k));
    }
    let list = |suffix: &str| name.strip_suffix(suffix).and_then(kinds::kind);
    if let Some(k) = list("AddRq") {
        return Some(Op::ListAdd(k));
    }
    if let Some(k) = list("ModRq") {
        return Some(Op::ListMod(k));
    }
    match kinds::query_kinds(name) {
        Some(ks) if !ks.is_empty() => Some(Op::ListQuery(ks)),
        _ => None,
    }
}

/// What a handler may need besides the request: the file mode, the
/// session's iterators, and whether the simulator itself is asking (its
/// sample generator may fill lists clients cannot add to).
pub(crate) struct Env<'a> {
    pub mode: host::FileMode,
    pub iterators: &'a mut Iterators,
    pub session: u64,
    pub internal: bool,
}

/// Answer one request.
pub(crate) fn run(ctx: &Ctx<'_>, rq: &Request<'_>, env: Env<'_>) -> Result<Answer, SimError> {
    let Some(op) = Op::of(rq.name()) else {
        return Err(status(1030, &[]));
    };
    let Env {
        mode,
        iterators,
        session,
        internal,
    } = env;
    match op {
        Op::HostQuery => host::host(ctx, rq, mode),
        Op::CompanyQuery => host::company(ctx, rq),
        Op::PreferencesQuery => host::preferences(ctx, rq),
        Op::CompanyActivityQuery => host::company_activity(ctx, rq),
        // Query-only lists (PayrollItemNonWage) are filled by our own
        // sample generator, not by clients.
        Op::ListAdd(k) if k.writable || internal => lists::add(ctx, k, rq),
        Op::ListMod(k) if k.writable => lists::modify(ctx, k, rq),
        Op::ListAdd(_) | Op::ListMod(_) => Err(status(1030, &[])),
        Op::ListQuery(ks) => query::query(ctx, ks, rq, iterators, session),
        Op::ListDel => lists::list_del(ctx, rq),
        Op::ListMerge => merge::merge(ctx, rq),
        Op::ListDeletedQuery => query::list_deleted(ctx, rq),
        Op::DataExtDefAdd => dataext::def_add(ctx, rq),
        Op::DataExtDefQuery => dataext::def_query(ctx, rq),
        Op::DataExtDefMod => dataext::def_mod(ctx, rq),
        Op::DataExtDefDel => dataext::def_del(ctx, rq),
        Op::SpecialAccountAdd => special::account_add(ctx, rq),
        Op::SpecialItemAdd => special::item_add(ctx, rq),
        Op::ListDisplay => display::list(ctx, rq),
        Op::TxnDisplay => display::txn(ctx, rq),
        Op::ClearedStatusMod => cleared::modify(ctx, rq),
        Op::BarCodeQuery => barcode::query(ctx, rq),
        Op::PayrollTxnQuery => payroll::txn_query(ctx, rq),
        Op::PayrollTxnAdd => payroll::refused(ctx, rq),
        Op::EmployeeDefaultQuery => payroll::employee_default_query(ctx, rq),
        Op::EmployeeDefaultMod => payroll::employee_default_mod(ctx, rq),
        Op::PreferencesMod => host::preferences_mod(ctx, rq),
        Op::QBCommandExec => display::command(ctx, rq),
        Op::AlertAdd => alerts::add(ctx, rq),
        Op::AlertQuery => alerts::query(ctx, rq),
        Op::AlertDel => alerts::del(ctx, rq),
        Op::ItemSitesQuery => sites::query(ctx, rq),
        Op::Form1099MappingQuery => taxsetup::query(ctx, rq),
        Op::Form1099MappingMod => taxsetup::modify(ctx, rq),
        Op::AccountTaxLineInfoQuery => taxsetup::tax_lines(ctx, rq),
        Op::DataEventRecoveryInfoQuery => events::recovery_query(ctx, rq),
        Op::DataEventRecoveryInfoDel => events::recovery_del(ctx, rq),
        Op::DataExtAdd => dataext::set(ctx, rq, true),
        Op::DataExtMod => dataext::set(ctx, rq, false),
        Op::DataExtDel => dataext::del(ctx, rq),
        Op::TxnAdd(k) => txns::add(ctx, k, rq),
        Op::TxnMod(k) => txns::modify(ctx, k, rq),
        Op::TxnQuery(k) => txnquery::query(ctx, k, rq, iterators, session),
        Op::TxnDel => txns::del(ctx, rq),
        Op::TxnVoid => txns::void(ctx, rq),
        Op::TxnDeletedQuery => txnquery::deleted(ctx, rq),
        Op::TransactionQuery => txnquery::transactions(ctx, rq, iterators, session),
        Op::ReceivePaymentToDepositQuery => txnquery::to_deposit(ctx, rq),
        Op::BillToPayQuery => inquiries::bills_to_pay(ctx, rq),
        Op::SalesTaxPayableQuery => inquiries::sales_tax_payable(ctx, rq),
        Op::ItemAssembliesCanBuildQuery => inquiries::assemblies_can_build(ctx, rq),
        Op::GeneralSummaryReportQuery => reports::general_summary(ctx, rq),
        Op::GeneralDetailReportQuery => reports::general_detail(ctx, rq),
        Op::CustomDetailReportQuery => reports::custom_detail(ctx, rq),
        Op::BudgetSummaryReportQuery => reports::budget_summary(ctx, rq),
        Op::CustomSummaryReportQuery => reports::custom_summary(ctx, rq),
        Op::JobReportQuery => reports::job_report(ctx, rq),
        Op::TimeReportQuery => reports::time_report(ctx, rq),
        Op::PayrollReportQuery => reports::payroll_report(ctx, rq),
        Op::AgingReportQuery => reports::aging(ctx, rq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_their_operation() {
        assert!(matches!(Op::of("HostQueryRq"), Some(Op::HostQuery)));
        assert!(matches!(Op::of("CustomerAddRq"), Some(Op::ListAdd(k)) if k.name == "Customer"));
        assert!(matches!(Op::of("InvoiceModRq"), Some(Op::TxnMod(k)) if k.name == "Invoice"));
        assert!(matches!(Op::of("ItemQueryRq"), Some(Op::ListQuery(ks)) if ks.len() > 3));
        assert!(Op::of("CustomerAddRs").is_none());
        assert!(Op::of("NoSuchRq").is_none());
    }

    /// Every name in the table is a request type of the schema, and every
    /// list and transaction type has its rows.
    #[test]
    fn the_table_covers_the_kinds() {
        for k in kinds::KINDS.iter() {
            assert!(
                Op::of(&format!("{}QueryRq", k.name)).is_some()
                    || matches!(k.name, "StandardTerms" | "DateDrivenTerms")
                    || k.namespace == "PayrollItem",
                "{} has no query",
                k.name
            );
        }
        for k in txnkinds::TXN_KINDS.iter() {
            assert!(Op::of(&format!("{}AddRq", k.name)).is_some(), "{}", k.name);
            assert!(
                Op::of(&format!("{}QueryRq", k.name)).is_some(),
                "{}",
                k.name
            );
        }
    }
}
