//===- MambaDialect.td - the mamba dialect -----------------*- tablegen -*-===//
//
// The dialect that holds a Mamba1 or Mamba2 language model between checkpoint
// import and codegen. Ops mirror the model's dataflow at the granularity the
// Quamba2 rewrites need; semantics are those of mamba_ssm
// (shared/reference/formats.md §4), defined executably by the reference
// kernels in runtime/.
//
//===----------------------------------------------------------------------===//
#ifndef QUAMBA_DIALECT_MAMBA_DIALECT_TD
#define QUAMBA_DIALECT_MAMBA_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Mamba_Dialect : Dialect {
  let name = "mamba";
  let cppNamespace = "::mlir::mamba";
  let summary = "Mamba1 / Mamba2 selective state space language models";
  let description = [{
    A model has two entry functions: `@prefill(tokens: [B, L]) -> (logits,
    states...)` and `@decode(token: [B, 1], states...) -> (logits,
    states...)`. Recurrent state is explicit: each layer's conv state
    `[B, conv_dim, K]` and SSM state (`[B, H, P, N]` for Mamba2, `[B, E, N]`
    for Mamba1) are function arguments and results, so passes see them and can
    quantize them. Weights are `dense_resource` constants. The module carries
    the model configuration as `mamba.config = #mamba.config<...>`; the
    dialect checks each op's model-level sizes against it (vocabulary,
    d_model, conv channels and kernel, heads, headdim, groups, d_state, the
    gated norm's group size). Projection widths are checked per op, by the
    shape contracts of the ops they feed.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute that holds the #mamba.config.
    static constexpr ::llvm::StringLiteral getConfigAttrName() {
      return ::llvm::StringLiteral("mamba.config");
    }
    /// Name of the discardable op attribute quamba-calibrate attaches: a
    /// dictionary of activation statistics on a mamba op.
    static constexpr ::llvm::StringLiteral getCalibrationAttrName() {
      return ::llvm::StringLiteral("mamba.calibration");
    }
  }];
}

class Mamba_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mamba_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Mamba_Arch : I32EnumAttr<"Arch", "Mamba architecture", [
    I32EnumAttrCase<"mamba1", 1>,
    I32EnumAttrCase<"mamba2", 2>
  ]> {
  let cppNamespace = "::mlir::mamba";
  let genSpecializedAttr = 0;
}

def Mamba_ModelConfigAttr : AttrDef<Mamba_Dialect, "ModelConfig"> {
  let mnemonic = "config";
  let summary = "the structural configuration of a Mamba model";
  let description = [{
    The sizes every op of the model must agree with. Mamba1 models use
    `dt_rank`; Mamba2 models use `headdim`, `nheads`, `ngroups` and
    `chunk_size`. The verifier checks the relations between them
    (`d_inner = expand * d_model`, `nheads * headdim = d_inner`, `ngroups`
    divides `nheads`, ...).

    Example:
    ```mlir
    #mamba.config<arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256,
                  d_state = 16, d_conv = 4, expand = 2, d_inner = 128,
                  headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16,
                  tie_embeddings = true>
    ```
  }];
  let parameters = (ins
    EnumParameter<Mamba_Arch>:$arch,
    "int64_t":$d_model,
    "int64_t":$n_layer,
    "int64_t":$vocab_size,
    "int64_t":$d_state,
    "int64_t":$d_conv,
    "int64_t":$expand,
    "int64_t":$d_inner,
    DefaultValuedParameter<"int64_t", "0">:$dt_rank,
    DefaultValuedParameter<"int64_t", "0">:$headdim,
    DefaultValuedParameter<"int64_t", "0">:$nheads,
    DefaultValuedParameter<"int64_t", "0">:$ngroups,
    DefaultValuedParameter<"int64_t", "0">:$chunk_size,
    "bool":$tie_embeddings
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Channels of the depthwise conv: E (Mamba1) or E + 2 * G * N (Mamba2).
    int64_t getConvDim() const;
    bool isMamba2() const { return getArch() == Arch::mamba2; }
  }];
}

#endif // QUAMBA_DIALECT_MAMBA_DIALECT_TD
