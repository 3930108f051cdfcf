//! PDF receipts and payment instructions, typeset with typst as a library. Fonts come from
//! typst-assets and are embedded in every PDF; nothing is fetched at build or run time.
//! Templates are files (templates/pdf/*.typ) that read their figures from a virtual
//! `/data.json`, so no value is ever spliced into typst markup.

use std::sync::LazyLock;

use chrono::{Datelike, Utc};
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

pub const RECEIPT_TEMPLATE: &str = include_str!("../../templates/pdf/receipt.typ");
pub const INSTRUCTIONS_TEMPLATE: &str = include_str!("../../templates/pdf/instructions.typ");

struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

/// Built once per process: the standard library and the embedded fonts.
static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    Shared { library: LazyHash::new(Library::default()), book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
});

fn file_id(path: &str) -> FileId {
    RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).expect("valid virtual path")).intern()
}

struct DocWorld {
    main: Source,
    data: Bytes,
    data_id: FileId,
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        let now = Utc::now();
        Datetime::from_ymd(now.year(), now.month() as u8, now.day() as u8)
    }
}

/// How many renders a memoized typesetting result survives unused (typst's own watch mode keeps
/// 10). Results every render reuses (the library, fonts, the template) stay; those of one
/// document's data go. Without eviction typst's process-wide cache kept every document ever
/// rendered: bench/scale measured +0.65 MiB RSS per distinct receipt, 306 MiB after 400.
const CACHE_MAX_AGE: usize = 10;

/// Typesets `template` with `data` as `/data.json`. CPU-bound: call from `spawn_blocking`.
pub fn render(template: &str, data: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let pdf = typeset(template, data);
    typst::comemo::evict(CACHE_MAX_AGE);
    pdf
}

fn typeset(template: &str, data: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let world = DocWorld {
        main: Source::new(file_id("/main.typ"), template.to_string()),
        data: Bytes::new(serde_json::to_vec(data)?),
        data_id: file_id("/data.json"),
    };
    let document: PagedDocument = typst::compile(&world)
        .output
        .map_err(|errors| anyhow::anyhow!("typesetting failed: {}", errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))?;
    typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errors| anyhow::anyhow!("PDF export failed: {}", errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_typeset_into_pdfs_with_embedded_fonts() {
        let data = serde_json::json!({
            "company": "Tenure", "companyAddress": ["100 Main Street", "Springfield, IL 62701"], "supportEmail": "support@tenure.example",
            "payoutId": "PO-20261123-TEST",
            "recipient": { "name": "A <B> & \"C\" #x", "email": "a@b.c", "address": ["12 Elm Street", "Apt 4 #x", "Austin, TX 78701"] },
            "method": "ACH bank transfer", "destination": "Checking ••••6789, First Bank",
            "lineItems": [{ "label": "Reward", "amount": "$100,000.00" }, { "label": "Retention fee (12 months of membership, prepaid)", "amount": "−$300.00" },
                          { "label": "Federal backup withholding", "amount": "−$24,000.00" }],
            "gross": "$100,000.00", "net": "$75,700.00", "sentDate": "November 20, 2026", "completedDate": "November 22, 2026",
            "confirmationNumber": "FED-1", "withholdingNote": "$24,000.00 federal backup withholding (24%, no W-9 on file)", "taxYear": 2026,
            "taxNote": "Tax: no W-9 was on file, so federal backup withholding of 24% ($24,000.00) was withheld and paid to the IRS. The reward of $100,000.00 and the amount withheld are reported on Form 1099-MISC for tax year 2026.",
            "issuedAt": "November 23, 2026",
            "approvedBy": "x@y.z", "generatedAt": "November 21, 2026"
        });
        for (name, template) in [("receipt", RECEIPT_TEMPLATE), ("instructions", INSTRUCTIONS_TEMPLATE)] {
            let pdf = render(template, &data).unwrap();
            // PAYOUT_PDF_SAMPLES=dir writes the samples out, to look at a template change.
            if let Some(dir) = std::env::var_os("PAYOUT_PDF_SAMPLES") {
                std::fs::write(std::path::Path::new(&dir).join(format!("{name}.pdf")), &pdf).unwrap();
            }
            assert!(pdf.starts_with(b"%PDF-"));
            let text = String::from_utf8_lossy(&pdf);
            assert!(text.contains("/FontFile"), "fonts are embedded");
        }
        // A member with no address on file and a W-9: the receipt still typesets.
        let mut w9 = data.clone();
        w9["recipient"]["address"] = serde_json::json!([]);
        w9["withholdingNote"] = "None: W-9 on file".into();
        w9["taxNote"] = "Tax: your W-9 is on file, so nothing was withheld. The whole reward of $100,000.00 is reported to the IRS on Form 1099-MISC for tax year 2026.".into();
        let pdf = render(RECEIPT_TEMPLATE, &w9).unwrap();
        if let Some(dir) = std::env::var_os("PAYOUT_PDF_SAMPLES") {
            std::fs::write(std::path::Path::new(&dir).join("receipt-w9.pdf"), &pdf).unwrap();
        }
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
