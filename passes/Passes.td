//===- Passes.td - quamba passes ---------------------------*- tablegen -*-===//
//
// Every pass of quamba, with what it guarantees. Pipelines compose them in
// the order of DESIGN.md §4.
//
//===----------------------------------------------------------------------===//
#ifndef QUAMBA_PASSES_TD
#define QUAMBA_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuambaPrintModelSummary : Pass<"quamba-print-model-summary", "ModuleOp"> {
  let summary = "Print the model's configuration and weight inventory";
  let description = [{
    Prints, to stderr, the module's `#mamba.config`, the entry functions with
    their argument and result types, and the weights: the number of distinct
    `dense_resource` weights, their element counts, and the bytes they take
    per element type (a tied lm_head shares the embedding's resource and is
    counted once). Counts mamba ops per kind.

    Guarantee: an analysis only; the IR is unchanged.
  }];
  let dependentDialects = ["mlir::mamba::MambaDialect"];
}

#endif // QUAMBA_PASSES_TD
