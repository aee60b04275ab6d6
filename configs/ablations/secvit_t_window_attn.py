# Ablation, paper Table 6 attention row (SEC vs. spatial grouping): SecViT-T whose attention groups
# tokens by fixed spatial windows instead of semantic sorting (same module, same parameters, same
# cluster sizes: SECAttention(grouping='spatial'); 98-token chunks = two adjacent 7x7 windows at 224).
# The paper's row swaps in CSWin's cross-shaped windows (-1.2 top-1); this is the plain-window
# baseline of the same comparison, not CSWin attention.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(attn_type='window'))
