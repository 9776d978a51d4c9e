//! Blocks: binding a block's arguments (tensors, constants, defaults), expanding its body
//! in a frame of its own, and the limits on blocks that use blocks (no recursion, at most
//! [`MAX_BLOCK_DEPTH`] levels).

use super::*;

impl<'d, 'a> Lowering<'d, 'a> {
    pub(super) fn block(
        &mut self,
        bfile: FileId,
        block: &'a BlockDecl,
        call: Option<&'a Call>,
        skip: usize,
        input: T,
        span: Span,
    ) -> Option<T> {
        let file = self.file();
        if self.blocks.len() >= MAX_BLOCK_DEPTH && !self.blocks.contains(&block.name.name) {
            let outermost = self.blocks.first().cloned().unwrap_or_default();
            return self.err(
                Diagnostic::error(
                    Code::BlockTooDeep,
                    format!(
                        "blocks nest more than {MAX_BLOCK_DEPTH} deep: `{outermost}` reaches `{}` through {} blocks",
                        block.name.name,
                        self.blocks.len()
                    ),
                )
                .label(file, span, format!("block number {} of the chain", MAX_BLOCK_DEPTH + 1))
                .label(bfile, block.name.span, "the block")
                .help(format!(
                    "knit expands blocks inside blocks up to {MAX_BLOCK_DEPTH} levels; flatten the chain or use `repeat`"
                )),
            );
        }
        if self.blocks.contains(&block.name.name) {
            return self.err(
                Diagnostic::error(
                    Code::RecursiveBlock,
                    format!("block `{}` uses itself", block.name.name),
                )
                .label(file, span, "used here, inside its own definition")
                .label(bfile, block.name.span, "the block")
                .help(
                    "blocks may use other blocks but not themselves; use `repeat` to stack layers",
                ),
            );
        }
        let Some(first) = block.params.first() else {
            return self.err(
                Diagnostic::error(
                    Code::Missing,
                    format!("block `{}` has no parameters", block.name.name),
                )
                .label(
                    bfile,
                    block.name.span,
                    "its first parameter must be its input",
                ),
            );
        };
        let mut frame = Frame {
            file: bfile,
            ..Frame::default()
        };
        Rc::make_mut(&mut frame.vars).insert(
            first.name.name.clone(),
            (Val::Tensor(input), first.name.span),
        );
        let rest = &block.params[1..];
        let args: Vec<&Arg> = call
            .map(|c| c.args.iter().skip(skip).collect())
            .unwrap_or_default();
        let (given, mut ok) = self.match_block_args(bfile, block, &args);
        let caller_scope = self.scope();
        let top = crate::check::defs::TopScope { defs: self.defs };
        for (param, arg) in rest.iter().zip(&given) {
            let value = match (arg, &param.default) {
                (Some(a), _) => {
                    if let Expr::Name(id) = a.value.unparen() {
                        match self.frames.last().and_then(|f| f.vars.get(&id.name)) {
                            Some((Val::Tensor(t), _)) => {
                                Rc::make_mut(&mut frame.vars).insert(
                                    param.name.name.clone(),
                                    (Val::Tensor(t.clone()), param.name.span),
                                );
                                continue;
                            }
                            Some((Val::Failed, _)) => {
                                ok = false;
                                continue;
                            }
                            _ => {}
                        }
                    }
                    Ev::new(&caller_scope, file).value(&mut self.sink, &a.value)
                }
                (None, Some(d)) => Ev::new(&top, bfile).value(&mut self.sink, d),
                (None, None) => {
                    self.sink.push(
                        Diagnostic::error(
                            Code::Missing,
                            format!("block `{}` needs `{}`", block.name.name, param.name.name),
                        )
                        .label(file, span, format!("`{}` is missing", param.name.name))
                        .label(bfile, param.span, "the parameter"),
                    );
                    None
                }
            };
            match value {
                Some(v) => {
                    Rc::make_mut(&mut frame.vars)
                        .insert(param.name.name.clone(), (Val::Const(v), param.name.span));
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let instance = self.naming.take_block(&block.name.name);
        frame.path = format!("{instance}.");
        self.blocks.push(block.name.name.clone());
        self.frames.push(frame);
        let saved = self.naming.clone();
        let out = self.body(&block.body);
        self.naming = saved;
        self.frames.pop();
        self.blocks.pop();
        if out.is_none() && block.body.statements.is_empty() {
            return self.err(
                Diagnostic::error(
                    Code::Missing,
                    format!("block `{}` has no statements", block.name.name),
                )
                .label(bfile, block.body.span, "empty body"),
            );
        }
        out
    }

    /// Which argument of the call gives each of `block`'s parameters after its input, by
    /// position or by name; reports arguments given twice or unknown (`false` then).
    fn match_block_args(
        &mut self,
        bfile: FileId,
        block: &'a BlockDecl,
        args: &[&'a Arg],
    ) -> (Vec<Option<&'a Arg>>, bool) {
        let file = self.file();
        let rest = &block.params[1..];
        let mut given: Vec<Option<&Arg>> = vec![None; rest.len()];
        let mut ok = true;
        for (i, &arg) in args.iter().enumerate() {
            let slot = match &arg.key {
                Some(k) => rest.iter().position(|p| p.name.name == k.name),
                None => (i < rest.len()).then_some(i),
            };
            match slot {
                Some(s) if given[s].is_none() => given[s] = Some(arg),
                Some(s) => {
                    self.sink.push(
                        Diagnostic::error(
                            Code::Duplicate,
                            format!("`{}` is given twice", rest[s].name.name),
                        )
                        .label(file, arg.span, "given again here"),
                    );
                    ok = false;
                }
                None => {
                    let names: Vec<&str> = rest.iter().map(|p| p.name.name.as_str()).collect();
                    let (msg, help) = match &arg.key {
                        Some(k) => (
                            format!("block `{}` has no parameter `{}`", block.name.name, k.name),
                            help_for(&k.name, names.iter().copied(), "its parameters"),
                        ),
                        None => (
                            format!(
                                "block `{}` takes {} arguments after its input",
                                block.name.name,
                                rest.len()
                            ),
                            String::new(),
                        ),
                    };
                    self.sink.push(
                        Diagnostic::error(Code::UnknownKey, msg)
                            .label(file, arg.span, "unexpected argument")
                            .label(bfile, block.name.span, "the block")
                            .maybe_help((!help.is_empty()).then_some(help)),
                    );
                    ok = false;
                }
            }
        }
        (given, ok)
    }
}

impl Naming {
    /// The name of a block instance: like a layer with parameters.
    fn take_block(&mut self, block: &str) -> String {
        let count = self.counts.entry("block").or_insert(0);
        *count += 1;
        if !self.first_taken {
            self.first_taken = true;
            return self.base.clone();
        }
        if *count == 1 {
            format!("{}.{block}", self.base)
        } else {
            format!("{}.{block}{count}", self.base)
        }
    }
}
