//! Reading a program: the main file and, recursively, the files it imports (each once, paths
//! relative to the importing file; a cycle is an error showing both imports).

use crate::ast::{Item, Program};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::parser::parse;
use crate::parser::{MAX_FILE_BYTES, MAX_PROGRAM_BYTES};
use crate::source::{FileId, SourceMap};
use crate::span::Span;
use knit_io::FileError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One parsed file.
#[derive(Clone, Debug)]
pub struct Module {
    /// The file.
    pub file: FileId,
    /// Its syntax tree.
    pub program: Program,
}

/// A program as read: its files and their syntax trees, imports before their importers.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Every file read.
    pub sources: SourceMap,
    /// The parsed files, each import before the file importing it; the main file is last.
    pub modules: Vec<Module>,
    /// The main file.
    pub main: FileId,
}

impl Loaded {
    /// The main file's syntax tree.
    pub fn main_program(&self) -> Option<&Program> {
        self.modules
            .iter()
            .find(|m| m.file == self.main)
            .map(|m| &m.program)
    }
}

/// Reads and parses the file at `path` and everything it imports.
pub fn load_file(path: &Path) -> (Loaded, Diagnostics) {
    let mut loader = Loader::default();
    let name = path.display().to_string();
    match read_source(path) {
        Ok(text) => {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            loader.total_bytes = text.len();
            loader.visit(name, path.to_path_buf(), canonical, text, None);
        }
        Err(error) => loader.diags.push(read_error(&error)),
    }
    loader.finish()
}

/// Parses `text` as if read from `path` (imports are read from the file system relative to
/// it).
pub fn load_text(path: &Path, text: &str) -> (Loaded, Diagnostics) {
    let mut loader = Loader::default();
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    loader.visit(
        path.display().to_string(),
        path.to_path_buf(),
        canonical,
        text.to_string(),
        None,
    );
    loader.finish()
}

/// Reads a program file as knit does: a regular file (a FIFO or a device is refused without
/// waiting on it) of at most [`MAX_FILE_BYTES`] bytes, checked while reading, in UTF-8 (an
/// error names the first bad byte); a leading byte-order mark is dropped, as editors on
/// Windows write one.
pub fn read_source(path: &Path) -> Result<String, FileError> {
    read_bounded(path, MAX_FILE_BYTES)
}

fn read_bounded(path: &Path, limit: usize) -> Result<String, FileError> {
    let text = knit_io::read_text_bounded(path, limit as u64)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The diagnostic for a file that cannot be read.
pub fn read_error(error: &FileError) -> Diagnostic {
    let d = Diagnostic::error(
        match error {
            FileError::TooLarge { .. } => Code::TooComplex,
            _ => Code::Io,
        },
        format!("cannot read {}: {}", error.path().display(), error.reason()),
    );
    match error {
        FileError::TooLarge { .. } => d.help("split the program into files joined with `import`"),
        _ => d,
    }
}

/// A file being imported: its path and the import that led to it.
struct Frame {
    canonical: PathBuf,
    via: Option<(FileId, Span)>,
}

#[derive(Default)]
struct Loader {
    loaded: Loaded,
    diags: Diagnostics,
    done: HashMap<PathBuf, FileId>,
    stack: Vec<Frame>,
    /// The bytes of every file read so far, bounded by [`MAX_PROGRAM_BYTES`].
    total_bytes: usize,
}

impl Loader {
    fn finish(mut self) -> (Loaded, Diagnostics) {
        self.loaded.main = self.loaded.modules.last().map_or(FileId(0), |m| m.file);
        (self.loaded, self.diags)
    }

    fn visit(
        &mut self,
        name: String,
        path: PathBuf,
        canonical: PathBuf,
        text: String,
        via: Option<(FileId, Span)>,
    ) {
        let file = self.loaded.sources.add(name, path.clone(), text);
        let source_text = self.loaded.sources.get(file).text.clone();
        let (program, diags) = parse(file, &source_text);
        self.diags.extend(diags);
        self.done.insert(canonical.clone(), file);
        self.stack.push(Frame { canonical, via });
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for item in &program.items {
            if let Item::Import(import) = item {
                self.import(file, &dir, &import.path.value, import.path.span);
            }
        }
        self.stack.pop();
        self.loaded.modules.push(Module { file, program });
    }

    fn import(&mut self, from: FileId, dir: &Path, target: &str, span: Span) {
        let path = dir.join(target);
        let Ok(canonical) = path.canonicalize() else {
            self.diags.push(
                Diagnostic::error(
                    Code::ImportNotFound,
                    format!("cannot find the imported file {}", path.display()),
                )
                .label(from, span, "no such file")
                .help("import paths are relative to the importing file's folder"),
            );
            return;
        };
        if let Some(k) = self.stack.iter().position(|f| f.canonical == canonical) {
            let mut d = Diagnostic::error(
                Code::ImportCycle,
                format!(
                    "import cycle: {} imports itself through its imports",
                    path.display()
                ),
            )
            .label(from, span, "this import closes the cycle");
            if let Some((file, s)) = self.stack.get(k + 1).and_then(|f| f.via) {
                d = d.label(file, s, "the cycle starts with this import");
            }
            self.diags
                .push(d.help("move the shared definitions into a third file that both import"));
            return;
        }
        if self.done.contains_key(&canonical) {
            return;
        }
        let budget = MAX_PROGRAM_BYTES.saturating_sub(self.total_bytes);
        let result = match read_bounded(&path, budget.min(MAX_FILE_BYTES)) {
            Err(FileError::TooLarge { .. }) if budget < MAX_FILE_BYTES => {
                self.diags.push(
                    Diagnostic::error(
                        Code::TooComplex,
                        format!(
                            "the program's files hold more than {MAX_PROGRAM_BYTES} bytes together; {} would pass that",
                            path.display()
                        ),
                    )
                    .label(from, span, "imported here")
                    .help("a program and its imports may hold at most 4 MiB of text"),
                );
                return;
            }
            other => other,
        };
        match result {
            Ok(text) => {
                self.total_bytes += text.len();
                self.visit(
                    path.display().to_string(),
                    path,
                    canonical,
                    text,
                    Some((from, span)),
                )
            }
            Err(error) => self
                .diags
                .push(read_error(&error).label(from, span, "imported here")),
        }
    }
}
