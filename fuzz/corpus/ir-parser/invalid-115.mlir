func.func @split_no_sizes(%x: tensor<?x?x?xf32>) {
  "mamba.split"(%x) <{sizes = array<i64>}> : (tensor<?x?x?xf32>) -> ()
  return
}
