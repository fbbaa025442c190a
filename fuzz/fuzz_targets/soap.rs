//! The Web Connector's SOAP reader and writer (issue 20): arbitrary bytes
//! as a call's body, with and without a SOAPAction; arbitrary text as an
//! answer's and a fault's text. The reader never panics; what the writer
//! writes is well-formed XML that an XML reader reads back as the text
//! given (with what XML 1.0 cannot carry replaced by U+FFFD).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quick_xml::events::Event;
use quick_xml::Reader;

/// The text of the one element named `name` in `xml`, as an XML reader
/// gives it; panics if `xml` is not well-formed.
fn text_of(xml: &str, name: &str) -> String {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => inside = e.local_name().as_ref() == name,
            Ok(Event::End(_)) => inside = false,
            Ok(Event::Text(t)) if inside => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if inside => match r.resolve_char_ref() {
                Ok(Some(c)) => text.push(c),
                Ok(None) => match quick_xml::escape::resolve_xml_entity(&r.xml10_content()) {
                    Some(s) => text.push_str(s),
                    None => panic!("unknown entity in {xml}"),
                },
                Err(e) => panic!("{e}: {xml}"),
            },
            Ok(Event::Eof) => return text,
            Ok(_) => {}
            Err(e) => panic!("{e}: {xml}"),
        }
    }
}

/// What XML 1.0 can carry of `text`.
fn carried(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let action = data.first().map(|b| match b % 3 {
        0 => "\"http://developer.intuit.com/sendRequestXML\"",
        1 => "authenticate",
        _ => "",
    });
    for a in [None, action] {
        if let Ok(call) = qbwc::read(data, a) {
            let _ = (call.operation(), call.ticket());
        }
    }
    let text = String::from_utf8_lossy(data);
    let answer = qbwc::write(&qbwc::Reply::Text {
        operation: "getLastError",
        text: text.to_string(),
    });
    assert_eq!(text_of(&answer, "getLastErrorResult"), carried(&text));
    let fault = qbwc::fault(true, &text);
    assert_eq!(text_of(&fault, "faultstring"), carried(&text));
});
