"""Embedder adapters (the `assetlens.ports.Embedder` port).

`embeddings.open_clip_embedder.OpenClipEmbedder` runs open_clip on PyTorch. Importing this
package (or that module) never imports torch: the model loads lazily on first use, from local
files only (a checkpoint path or the local Hugging Face cache), never from the network.
"""
