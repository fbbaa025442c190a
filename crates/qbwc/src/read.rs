//! Reading a call: the tolerant reader.
//!
//! Only three levels matter: `Envelope` → `Body` → the operation's element,
//! whose children are the parameters. Everything is found by local name,
//! so `soap:`, `soap11env:`, a default namespace or `q1:` prefixes with
//! `xsi:type` attributes all read the same. A parameter's text is its
//! character data (entities and character references resolved, CDATA as
//! is); elements nested inside a parameter are refused — the WSDL has
//! none.

use crate::Call;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::HashMap;
use std::fmt;

/// Why a body is not a Web Connector call: answered with a SOAP fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

fn err(m: impl Into<String>) -> ReadError {
    ReadError(m.into())
}

/// Read a call from a request body. `soap_action` (the header, quoted or
/// not) names the operation only when the body's Body is empty.
pub fn read(body: &[u8], soap_action: Option<&str>) -> Result<Call, ReadError> {
    let text = std::str::from_utf8(body).map_err(|_| err("the body is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (operation, params) = scan(text)?;
    let operation = match operation {
        Some(op) => op,
        None => action_name(soap_action)
            .ok_or_else(|| err("the SOAP Body holds no operation, and no SOAPAction names one"))?
            .to_string(),
    };
    call(&operation, params)
}

/// `"http://developer.intuit.com/authenticate"` → `authenticate`.
fn action_name(action: Option<&str>) -> Option<&str> {
    let a = action?.trim().trim_matches('"');
    let name = a.rsplit(['/', '#']).next().unwrap_or(a);
    (!name.is_empty()).then_some(name)
}

/// The operation's local name and its parameters by local name.
fn scan(text: &str) -> Result<(Option<String>, HashMap<String, String>), ReadError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    // Local names of the open elements.
    let mut path: Vec<String> = Vec::new();
    let mut operation: Option<String> = None;
    let mut params: HashMap<String, String> = HashMap::new();
    // The parameter being read, and its text so far.
    let mut current: Option<(String, String)> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| err(format!("not well-formed XML: {e}")))?;
        let (name, empty) = match &ev {
            Event::Start(e) => (Some(e.local_name().as_ref().to_string()), false),
            Event::Empty(e) => (Some(e.local_name().as_ref().to_string()), true),
            _ => (None, false),
        };
        if let Some(name) = name {
            match path.len() {
                0 if name != "Envelope" => {
                    return Err(err(format!("the root is <{name}>, not a SOAP Envelope")))
                }
                1 if name != "Body" && name != "Header" => {
                    return Err(err(format!("<{name}> in the SOAP Envelope")))
                }
                2 if path[1] == "Body" => {
                    if operation.is_some() {
                        return Err(err("the SOAP Body holds more than one operation"));
                    }
                    operation = Some(name.clone());
                }
                3 if path[1] == "Body" => {
                    if params.contains_key(&name) {
                        return Err(err(format!("the parameter <{name}> is given twice")));
                    }
                    if empty {
                        params.insert(name.clone(), String::new());
                    } else {
                        current = Some((name.clone(), String::new()));
                    }
                }
                n if n >= 4 && path[1] == "Body" => {
                    return Err(err(format!(
                        "<{name}> inside the parameter <{}>: parameters are text",
                        path[3]
                    )))
                }
                _ => {}
            }
            if !empty {
                path.push(name);
            }
            continue;
        }
        match ev {
            Event::End(_) => {
                if path.len() == 4 {
                    if let Some((n, t)) = current.take() {
                        params.insert(n, t);
                    }
                }
                path.pop();
            }
            Event::Text(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                } else if path.len() < 4 && !t.trim().is_empty() {
                    return Err(err("text outside the parameters"));
                }
            }
            Event::CData(c) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&c);
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or_else(|| err(format!("&{}; is not a character", &*r)))?
                } else {
                    match &*r {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(err(format!("the entity &{other}; is not defined"))),
                    }
                };
                if let Some((_, text)) = current.as_mut() {
                    text.push(c);
                }
            }
            Event::DocType(_) => {
                return Err(err("a DOCTYPE is not allowed (no entity is expanded)"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(err("the document ends inside an element: it is truncated"));
    }
    Ok((operation, params))
}

/// The call `operation` names, from its parameters.
fn call(operation: &str, mut p: HashMap<String, String>) -> Result<Call, ReadError> {
    let mut take = |name: &str| p.remove(name).unwrap_or_default();
    let number = |name: &str, v: String| -> Result<i32, ReadError> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(0);
        }
        t.parse()
            .map_err(|_| err(format!("<{name}> `{t}` is not a whole number")))
    };
    Ok(match operation {
        "serverVersion" => Call::ServerVersion,
        "clientVersion" => Call::ClientVersion {
            version: take("strVersion"),
        },
        "authenticate" => Call::Authenticate {
            user: take("strUserName"),
            password: take("strPassword"),
        },
        "sendRequestXML" => {
            let (ticket, hcp_response, company_file, country) = (
                take("ticket"),
                take("strHCPResponse"),
                take("strCompanyFileName"),
                take("qbXMLCountry"),
            );
            let (major, minor) = (take("qbXMLMajorVers"), take("qbXMLMinorVers"));
            Call::SendRequestXml {
                ticket,
                hcp_response,
                company_file,
                country,
                major: number("qbXMLMajorVers", major)?,
                minor: number("qbXMLMinorVers", minor)?,
            }
        }
        "receiveResponseXML" => Call::ReceiveResponseXml {
            ticket: take("ticket"),
            response: take("response"),
            hresult: take("hresult"),
            message: take("message"),
        },
        "connectionError" => Call::ConnectionError {
            ticket: take("ticket"),
            hresult: take("hresult"),
            message: take("message"),
        },
        "getLastError" => Call::GetLastError {
            ticket: take("ticket"),
        },
        "closeConnection" => Call::CloseConnection {
            ticket: take("ticket"),
        },
        "getInteractiveURL" => Call::GetInteractiveUrl {
            ticket: take("wcTicket"),
            session_id: take("sessionID"),
        },
        "interactiveDone" => Call::InteractiveDone {
            ticket: take("wcTicket"),
        },
        "interactiveRejected" => Call::InteractiveRejected {
            ticket: take("wcTicket"),
            reason: take("reason"),
        },
        other => {
            return Err(err(format!(
                "`{other}` is not an operation of the Web Connector's service"
            )))
        }
    })
}
