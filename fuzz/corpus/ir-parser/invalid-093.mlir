module attributes {mamba.model = "tiny"} {}
