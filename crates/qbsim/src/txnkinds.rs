//! The transactions the simulator keeps, as data.
//!
//! What is regular about a transaction type (the reference that names its
//! customer or vendor, the account its total goes to and that account's
//! default, the Ret fields that hold its total and its open balance, its
//! default template, whether QuickBooks numbers it) is a row here. How a
//! type posts to the ledger is its [`Role`]: the code for each role is in
//! `txns.rs`, because that is genuinely behaviour.

/// How a transaction type posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Item lines to income accounts against the header account:
    /// `sign` +1 Invoice and SalesReceipt, −1 CreditMemo.
    Sale {
        sign: i64,
    },
    /// Expense and item lines against the header account: +1 Bill, Check,
    /// ItemReceipt, CreditCardCharge; −1 VendorCredit, CreditCardCredit.
    Purchase {
        sign: i64,
    },
    /// Estimate, SalesOrder, PurchaseOrder: no postings (QuickBooks keeps
    /// them in non-posting accounts).
    Order,
    /// ReceivePayment: cash in, A/R down, applied to invoices.
    CustomerPayment,
    /// BillPaymentCheck, BillPaymentCreditCard: A/P down, applied to bills.
    VendorPayment,
    Deposit,
    Journal,
    InventoryAdjustment,
    /// Charge (a statement charge): A/R up for the customer, the item's
    /// income account credited; open until paid, like an invoice.
    Charge,
    /// Transfer: money from one account to another.
    Transfer,
    /// SalesTaxPaymentCheck: the bank pays what Sales Tax Payable holds.
    TaxPayment,
    /// ARRefundCreditCard: money back to a customer out of the credits
    /// (credit memos, unused payments) it is applied to: A/R up, the
    /// refund account down.
    Refund,
    /// BuildAssembly: components out of stock at their average cost, the
    /// assembly in at the sum.
    Build,
    /// TimeTracking, VehicleMileage, TransferInventory: kept and queried,
    /// never posted (QuickBooks posts time and mileage only when they are
    /// billed on an invoice; a transfer between sites moves no value).
    Record,
}

/// Accounts QuickBooks creates when it first needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Special {
    AccountsReceivable,
    AccountsPayable,
    UndepositedFunds,
    OpeningBalanceEquity,
    UncategorizedIncome,
    UncategorizedExpenses,
    SalesTaxPayable,
    InventoryAsset,
    CostOfGoodsSold,
    // The rest of `SpecialAccountType`, made by SpecialAccountAdd.
    CondenseItemAdjustmentExpenses,
    DirectDepositLiabilities,
    Estimates,
    ExchangeGainLoss,
    ItemReceiptAccount,
    PayrollExpenses,
    PayrollLiabilities,
    PettyCash,
    PurchaseOrders,
    ReconciliationDifferences,
    RetainedEarnings,
    SalesOrders,
    /// Where the finance charge item (SpecialItemAdd) posts.
    FinanceChargeIncome,
}

impl Special {
    /// (name, AccountType) as QuickBooks names them.
    pub fn account(self) -> (&'static str, &'static str) {
        match self {
            Special::AccountsReceivable => ("Accounts Receivable", "AccountsReceivable"),
            Special::AccountsPayable => ("Accounts Payable", "AccountsPayable"),
            Special::UndepositedFunds => ("Undeposited Funds", "OtherCurrentAsset"),
            Special::OpeningBalanceEquity => ("Opening Balance Equity", "Equity"),
            Special::UncategorizedIncome => ("Uncategorized Income", "Income"),
            Special::UncategorizedExpenses => ("Uncategorized Expenses", "Expense"),
            Special::SalesTaxPayable => ("Sales Tax Payable", "OtherCurrentLiability"),
            Special::InventoryAsset => ("Inventory Asset", "OtherCurrentAsset"),
            Special::CostOfGoodsSold => ("Cost of Goods Sold", "CostOfGoodsSold"),
            // Names QuickBooks gives these where known; the others [I].
            Special::CondenseItemAdjustmentExpenses => {
                ("Condense Item Adjustment Expenses", "Expense")
            }
            Special::DirectDepositLiabilities => {
                ("Direct Deposit Liabilities", "OtherCurrentLiability")
            }
            Special::Estimates => ("Estimates", "NonPosting"),
            Special::ExchangeGainLoss => ("Exchange Gain or Loss", "OtherExpense"),
            Special::ItemReceiptAccount => ("Item Receipts", "NonPosting"),
            Special::PayrollExpenses => ("Payroll Expenses", "Expense"),
            Special::PayrollLiabilities => ("Payroll Liabilities", "OtherCurrentLiability"),
            Special::PettyCash => ("Petty Cash", "Bank"),
            Special::PurchaseOrders => ("Purchase Orders", "NonPosting"),
            Special::ReconciliationDifferences => ("Reconciliation Discrepancies", "Expense"),
            Special::RetainedEarnings => ("Retained Earnings", "Equity"),
            Special::SalesOrders => ("Sales Orders", "NonPosting"),
            Special::FinanceChargeIncome => ("Finance Charge Income", "Income"),
        }
    }

    /// The `SpecialAccountType` value QuickBooks shows on the account
    /// (None: an account of no special type).
    pub fn special_type(self) -> Option<&'static str> {
        Some(match self {
            Special::AccountsReceivable => "AccountsReceivable",
            Special::AccountsPayable => "AccountsPayable",
            Special::UndepositedFunds => "UndepositedFunds",
            Special::OpeningBalanceEquity => "OpeningBalanceEquity",
            Special::UncategorizedIncome => "UncategorizedIncome",
            Special::UncategorizedExpenses => "UncategorizedExpenses",
            Special::SalesTaxPayable => "SalesTaxPayable",
            Special::InventoryAsset => "InventoryAssets",
            Special::CostOfGoodsSold => "CostOfGoodsSold",
            Special::CondenseItemAdjustmentExpenses => "CondenseItemAdjustmentExpenses",
            Special::DirectDepositLiabilities => "DirectDepositLiabilities",
            Special::Estimates => "Estimates",
            Special::ExchangeGainLoss => "ExchangeGainLoss",
            Special::ItemReceiptAccount => "ItemReceiptAccount",
            Special::PayrollExpenses => "PayrollExpenses",
            Special::PayrollLiabilities => "PayrollLiabilities",
            Special::PettyCash => "PettyCash",
            Special::PurchaseOrders => "PurchaseOrders",
            Special::ReconciliationDifferences => "ReconciliationDifferences",
            Special::RetainedEarnings => "RetainedEarnings",
            Special::SalesOrders => "SalesOrders",
            Special::FinanceChargeIncome => return None,
        })
    }

    /// The special account a `SpecialAccountType` value names.
    pub fn of_type(t: &str) -> Option<Special> {
        const ALL: &[Special] = &[
            Special::AccountsReceivable,
            Special::AccountsPayable,
            Special::UndepositedFunds,
            Special::OpeningBalanceEquity,
            Special::UncategorizedIncome,
            Special::UncategorizedExpenses,
            Special::SalesTaxPayable,
            Special::InventoryAsset,
            Special::CostOfGoodsSold,
            Special::CondenseItemAdjustmentExpenses,
            Special::DirectDepositLiabilities,
            Special::Estimates,
            Special::ExchangeGainLoss,
            Special::ItemReceiptAccount,
            Special::PayrollExpenses,
            Special::PayrollLiabilities,
            Special::PettyCash,
            Special::PurchaseOrders,
            Special::ReconciliationDifferences,
            Special::RetainedEarnings,
            Special::SalesOrders,
        ];
        ALL.iter().copied().find(|s| s.special_type() == Some(t))
    }
}

/// One transaction type (`TxnDelType` spelling).
#[derive(Debug)]
pub struct TxnKind {
    pub name: &'static str,
    pub role: Role,
    /// The reference naming the customer, vendor or payee.
    pub entity: Option<&'static str>,
    /// The reference naming the account the total goes to, and its
    /// default when the request leaves it out.
    pub account: Option<(&'static str, Option<Special>)>,
    /// The Ret field holding the total.
    pub total: Option<&'static str>,
    /// The Ret field holding what is still open (unpaid, unused).
    pub open: Option<&'static str>,
    /// The template QuickBooks fills in.
    pub template: Option<&'static str>,
    /// QuickBooks assigns the next number when RefNumber is left out.
    pub numbered: bool,
}

const fn t(name: &'static str, role: Role) -> TxnKind {
    TxnKind {
        name,
        role,
        entity: None,
        account: None,
        total: None,
        open: None,
        template: None,
        numbered: false,
    }
}

const CUSTOMER: Option<&str> = Some("CustomerRef");
const VENDOR: Option<&str> = Some("VendorRef");
const PAYEE: Option<&str> = Some("PayeeEntityRef");
const AR: Option<(&str, Option<Special>)> =
    Some(("ARAccountRef", Some(Special::AccountsReceivable)));
const AP: Option<(&str, Option<Special>)> = Some(("APAccountRef", Some(Special::AccountsPayable)));

pub static TXN_KINDS: &[TxnKind] = &[
    TxnKind {
        entity: CUSTOMER,
        account: AR,
        open: Some("BalanceRemaining"),
        template: Some("Intuit Service Invoice"),
        numbered: true,
        ..t("Invoice", Role::Sale { sign: 1 })
    },
    TxnKind {
        entity: CUSTOMER,
        account: Some(("DepositToAccountRef", Some(Special::UndepositedFunds))),
        total: Some("TotalAmount"),
        template: Some("Custom Sales Receipt"),
        numbered: true,
        ..t("SalesReceipt", Role::Sale { sign: 1 })
    },
    TxnKind {
        entity: CUSTOMER,
        account: AR,
        total: Some("TotalAmount"),
        open: Some("CreditRemaining"),
        template: Some("Custom Credit Memo"),
        numbered: true,
        ..t("CreditMemo", Role::Sale { sign: -1 })
    },
    TxnKind {
        entity: CUSTOMER,
        total: Some("TotalAmount"),
        template: Some("Custom Estimate"),
        numbered: true,
        ..t("Estimate", Role::Order)
    },
    TxnKind {
        entity: CUSTOMER,
        total: Some("TotalAmount"),
        template: Some("Custom Sales Order"),
        numbered: true,
        ..t("SalesOrder", Role::Order)
    },
    TxnKind {
        entity: VENDOR,
        total: Some("TotalAmount"),
        template: Some("Custom Purchase Order"),
        numbered: true,
        ..t("PurchaseOrder", Role::Order)
    },
    TxnKind {
        entity: CUSTOMER,
        account: AR,
        total: Some("TotalAmount"),
        open: Some("UnusedPayment"),
        ..t("ReceivePayment", Role::CustomerPayment)
    },
    TxnKind {
        entity: VENDOR,
        account: AP,
        total: Some("AmountDue"),
        open: Some("OpenAmount"),
        ..t("Bill", Role::Purchase { sign: 1 })
    },
    TxnKind {
        entity: VENDOR,
        account: AP,
        total: Some("CreditAmount"),
        open: Some("OpenAmount"),
        ..t("VendorCredit", Role::Purchase { sign: -1 })
    },
    TxnKind {
        entity: VENDOR,
        account: AP,
        total: Some("TotalAmount"),
        ..t("ItemReceipt", Role::Purchase { sign: 1 })
    },
    TxnKind {
        entity: PAYEE,
        account: Some(("AccountRef", None)),
        total: Some("Amount"),
        ..t("Check", Role::Purchase { sign: 1 })
    },
    TxnKind {
        entity: PAYEE,
        account: Some(("AccountRef", None)),
        total: Some("Amount"),
        ..t("CreditCardCharge", Role::Purchase { sign: 1 })
    },
    TxnKind {
        entity: PAYEE,
        account: Some(("AccountRef", None)),
        total: Some("Amount"),
        ..t("CreditCardCredit", Role::Purchase { sign: -1 })
    },
    TxnKind {
        entity: PAYEE,
        account: AP,
        total: Some("Amount"),
        ..t("BillPaymentCheck", Role::VendorPayment)
    },
    TxnKind {
        entity: PAYEE,
        account: AP,
        total: Some("Amount"),
        ..t("BillPaymentCreditCard", Role::VendorPayment)
    },
    TxnKind {
        total: Some("DepositTotal"),
        ..t("Deposit", Role::Deposit)
    },
    TxnKind {
        numbered: true,
        ..t("JournalEntry", Role::Journal)
    },
    TxnKind {
        entity: Some("CustomerRef"),
        account: Some(("AccountRef", None)),
        ..t("InventoryAdjustment", Role::InventoryAdjustment)
    },
    TxnKind {
        entity: CUSTOMER,
        account: AR,
        total: Some("Amount"),
        open: Some("BalanceRemaining"),
        ..t("Charge", Role::Charge)
    },
    TxnKind {
        account: Some(("TransferFromAccountRef", None)),
        total: Some("Amount"),
        ..t("Transfer", Role::Transfer)
    },
    TxnKind {
        entity: PAYEE,
        account: Some(("BankAccountRef", None)),
        total: Some("Amount"),
        ..t("SalesTaxPaymentCheck", Role::TaxPayment)
    },
    TxnKind {
        entity: CUSTOMER,
        account: AR,
        total: Some("TotalAmount"),
        ..t("ARRefundCreditCard", Role::Refund)
    },
    TxnKind {
        numbered: true,
        ..t("BuildAssembly", Role::Build)
    },
    TxnKind {
        entity: Some("EntityRef"),
        ..t("TimeTracking", Role::Record)
    },
    TxnKind {
        entity: Some("CustomerRef"),
        ..t("VehicleMileage", Role::Record)
    },
    TxnKind {
        numbered: true,
        ..t("TransferInventory", Role::Record)
    },
];

pub fn txn_kind(name: &str) -> Option<&'static TxnKind> {
    TXN_KINDS.iter().find(|k| k.name == name)
}

/// The account a vendor payment is drawn on.
pub fn payment_account(kind: &TxnKind) -> Option<&'static str> {
    match kind.name {
        "BillPaymentCheck" => Some("BankAccountRef"),
        "BillPaymentCreditCard" => Some("CreditCardAccountRef"),
        "ReceivePayment" => Some("DepositToAccountRef"),
        "Deposit" => Some("DepositToAccountRef"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbxml::schema::Schema;
    use qbxml::Version;

    /// Every row names messages and fields the 13.0 schema has.
    #[test]
    fn rows_match_the_schema() {
        let s = Schema::for_version(Version::V13_0);
        for k in TXN_KINDS {
            for m in ["Add", "Query"] {
                assert!(
                    s.request(&format!("{}{m}Rq", k.name)).is_some(),
                    "{}{m}",
                    k.name
                );
            }
            let ret = s
                .response(&format!("{}QueryRs", k.name))
                .and_then(|p| p.decl().child(&format!("{}Ret", k.name)))
                .unwrap()
                .decl();
            for f in [
                k.entity,
                k.account.map(|a| a.0),
                k.total,
                k.open,
                payment_account(k),
            ]
            .into_iter()
            .flatten()
            {
                assert!(ret.child(f).is_some(), "{}Ret/{f}", k.name);
            }
        }
    }
}
