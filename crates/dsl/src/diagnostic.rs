//! Diagnostics: what is wrong, where (one or more labelled spans), an error code and a hint.

use crate::source::FileId;
use crate::span::Span;
use std::fmt;

/// Every kind of diagnostic knit reports, each with a stable code (`knit::shape_mismatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not follow the grammar.
    Syntax,
    /// Nesting or size beyond what knit accepts (to stay fast on any input).
    TooComplex,
    /// A file could not be read.
    Io,
    /// An imported file does not exist.
    ImportNotFound,
    /// Files import each other in a cycle.
    ImportCycle,
    /// An item that only the main file may contain (a `train` block, the `seed`).
    ImportedItem,
    /// A name that nothing defines.
    UnknownName,
    /// A named argument that the call does not take.
    UnknownKey,
    /// A keyword value that is not one of the accepted ones.
    UnknownValue,
    /// A setting that this kind of block does not have.
    UnknownSetting,
    /// Two definitions of one name.
    DuplicateName,
    /// A setting or argument given twice.
    Duplicate,
    /// A required setting or argument is missing.
    Missing,
    /// A value of the wrong type (a string where a number is needed...).
    Type,
    /// A number out of its valid range (a learning rate of 0, a dropout ratio of 1...).
    BadValue,
    /// Shapes that do not fit together.
    ShapeMismatch,
    /// A model's last node does not have the declared output shape.
    OutputShape,
    /// A selector that matches no parameter.
    EmptySelector,
    /// Split fractions that do not sum to 1.
    SplitSum,
    /// A setting that needs validation data, on data that has none.
    NoValidation,
    /// A block that uses itself.
    RecursiveBlock,
    /// Blocks that use blocks nested deeper than knit expands.
    BlockTooDeep,
    /// A file named by the program does not exist (a warning: it may be created later).
    MissingFile,
    /// Settings that contradict each other.
    Conflict,
}

impl Code {
    /// The code as shown: `knit::shape_mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "knit::syntax",
            Code::TooComplex => "knit::too_complex",
            Code::Io => "knit::io",
            Code::ImportNotFound => "knit::import_not_found",
            Code::ImportCycle => "knit::import_cycle",
            Code::ImportedItem => "knit::imported_item",
            Code::UnknownName => "knit::unknown_name",
            Code::UnknownKey => "knit::unknown_key",
            Code::UnknownValue => "knit::unknown_value",
            Code::UnknownSetting => "knit::unknown_setting",
            Code::DuplicateName => "knit::duplicate_name",
            Code::Duplicate => "knit::duplicate",
            Code::Missing => "knit::missing",
            Code::Type => "knit::type",
            Code::BadValue => "knit::bad_value",
            Code::ShapeMismatch => "knit::shape_mismatch",
            Code::OutputShape => "knit::output_shape",
            Code::EmptySelector => "knit::empty_selector",
            Code::SplitSum => "knit::split_sum",
            Code::NoValidation => "knit::no_validation",
            Code::RecursiveBlock => "knit::recursive_block",
            Code::BlockTooDeep => "knit::block_too_deep",
            Code::MissingFile => "knit::missing_file",
            Code::Conflict => "knit::conflict",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a diagnostic stops the program from running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The program is wrong.
    Error,
    /// Worth knowing, but the program is valid.
    Warning,
}

/// A labelled span in some file.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// The file.
    pub file: FileId,
    /// The span.
    pub span: Span,
    /// What the span shows.
    pub text: String,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Its code.
    pub code: Code,
    /// One line saying what is wrong.
    pub message: String,
    /// The places involved; the first is the main culprit.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a message and no label yet.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![],
            help: None,
        }
    }

    /// A warning with a message and no label yet.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds a labelled span.
    #[must_use]
    pub fn label(mut self, file: FileId, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            file,
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the hint.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint if there is one.
    #[must_use]
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one run: all errors and warnings, in the order found.
#[derive(Clone, Debug, Default, PartialEq, thiserror::Error)]
#[error("{} error(s), {} warning(s)", self.error_count(), self.warning_count())]
pub struct Diagnostics {
    /// The diagnostics.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
}
