//! Writing an answer: exactly what the WSDL describes, document/literal
//! wrapped, as .NET's web-service client (the Web Connector) reads it.

use crate::{Reply, NAMESPACE};

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>";
const TAIL: &str = "</soap:Body></soap:Envelope>";

/// Element text with `&`, `<` and `>` escaped (quotes need not be, and
/// the reference servers leave them), and the characters XML 1.0 cannot
/// hold replaced by U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A CR would be read back as a LF by an XML reader: kept as is.
            '\r' => out.push_str("&#13;"),
            // What XML 1.0 cannot carry at all, not even as a reference:
            // .NET's reader (the Web Connector's) would refuse the whole
            // answer, so the one character is replaced instead.
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// The answer's SOAP envelope.
pub fn write(reply: &Reply) -> String {
    let mut out = String::with_capacity(HEAD.len() + TAIL.len() + 256);
    out.push_str(HEAD);
    let op = match reply {
        Reply::Text { operation, .. } => *operation,
        Reply::Authenticate { .. } => "authenticate",
        Reply::Progress(_) => "receiveResponseXML",
    };
    out.push('<');
    out.push_str(op);
    out.push_str("Response xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\"><");
    out.push_str(op);
    out.push_str("Result>");
    match reply {
        Reply::Text { text, .. } => escape_into(&mut out, text),
        Reply::Progress(n) => out.push_str(&n.to_string()),
        Reply::Authenticate {
            ticket,
            status,
            postpone_secs,
            min_run_every_secs,
        } => {
            let mut strings = vec![ticket.clone(), status.clone()];
            // Slot 2 is the postponement, slot 3 the lower bound: a lower
            // bound without a postponement still goes in slot 3.
            if postpone_secs.is_some() || min_run_every_secs.is_some() {
                strings.push(postpone_secs.unwrap_or(0).to_string());
            }
            if let Some(m) = min_run_every_secs {
                strings.push(m.to_string());
            }
            for s in strings {
                // Empty strings stay elements: QBWC needs all the slots.
                out.push_str("<string>");
                escape_into(&mut out, &s);
                out.push_str("</string>");
            }
        }
    }
    out.push_str("</");
    out.push_str(op);
    out.push_str("Result></");
    out.push_str(op);
    out.push_str("Response>");
    out.push_str(TAIL);
    out
}

/// A SOAP 1.1 fault (sent with HTTP 500): `client` says the call was at
/// fault (`soap:Client`), else the server (`soap:Server`).
pub fn fault(client: bool, message: &str) -> String {
    let mut out = String::with_capacity(HEAD.len() + TAIL.len() + 128 + message.len());
    out.push_str(HEAD);
    out.push_str("<soap:Fault><faultcode>");
    out.push_str(if client { "soap:Client" } else { "soap:Server" });
    out.push_str("</faultcode><faultstring>");
    escape_into(&mut out, message);
    out.push_str("</faultstring></soap:Fault>");
    out.push_str(TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Control characters XML 1.0 cannot hold become U+FFFD; tab, line
    /// feed and (as a reference) carriage return pass.
    #[test]
    fn text_xml_cannot_hold_is_replaced() {
        let out = fault(true, "a\u{1}b\u{0}\t\r\n\u{ffff}<&>");
        assert!(
            out.contains(
                "<faultstring>a\u{fffd}b\u{fffd}\t&#13;\n\u{fffd}&lt;&amp;&gt;</faultstring>"
            ),
            "{out}"
        );
    }
}
