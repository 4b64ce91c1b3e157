module attributes {mamba.config = {d_model = 64 : i64}} {}
