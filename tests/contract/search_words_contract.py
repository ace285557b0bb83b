"""How a query's words find assets (assetlens.searchtext), the same on every SearchIndex: word
forms, the word being typed, names and prompt syntax. Mixed into each adapter's contract test
class beside SearchIndexContract (which gives the `index` fixture its meaning)."""

from __future__ import annotations

from assetlens.ports import SearchIndex
from tests.contract.search_index_contract import aid, ids_of, make_asset, make_doc, put, search


def found(index: SearchIndex, text: str) -> set[str]:
    return set(ids_of(search(index, text)))


class SearchWordsContract:
    def test_plurals_and_word_forms_find_each_other(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("fox", prompt="a red fox on a snowy hill")),
            make_doc(make_asset("foxes", prompt="three foxes in the snow")),
            make_doc(make_asset("wolves", prompt="wolves howling at a foggy moon")),
            make_doc(make_asset("city", prompt="cities at night, glowing lanterns")),
            make_doc(make_asset("party", prompt="a birthday party")),
        )
        both = {aid("fox"), aid("foxes")}
        assert found(index, "fox") == found(index, "foxes") == found(index, "FOXES ") == both
        assert found(index, "snow ") == found(index, "snowy ") == both
        assert found(index, "wolf") == found(index, "wolves") == {aid("wolves")}
        assert found(index, "fog ") == found(index, "howl") == {aid("wolves")}
        assert found(index, "city glow") == found(index, "lantern") == {aid("city")}
        # A noun in -y is not an adjective of the word before its y.
        assert found(index, "part ") == set()

    def test_an_exact_word_ranks_above_a_word_form(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("form", prompt="foxes")),
            make_doc(make_asset("exact", prompt="fox")),
        )
        assert ids_of(search(index, "fox "))[0] == aid("exact")
        assert ids_of(search(index, "foxes "))[0] == aid("form")

    def test_the_last_word_while_typed_is_a_prefix(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("latent", prompt="latent space walk")),
            make_doc(make_asset("lattice", prompt="a lattice of light")),
            make_doc(make_asset("late", name="late.png", prompt="late evening")),
        )
        assert found(index, "lat") == {aid("latent"), aid("lattice"), aid("late")}
        assert found(index, "LATE") == {aid("latent"), aid("late")}
        assert found(index, "space lat") == {aid("latent")}
        assert found(index, "lat ") == found(index, "lat,") == set()
        assert found(index, "la") == set()  # too short to be a prefix
        assert found(index, "lat space") == set()  # only the last word is a prefix

    def test_the_typed_word_itself_ranks_above_the_longer_words_it_begins(
        self, index: SearchIndex
    ) -> None:
        # `cat` is in nine assets of ten, so its bm25 weight is small; the longer word sits in
        # the heaviest field, the exact word only in the lightest: the exact word still leads.
        put(
            index,
            make_doc(make_asset("longer", name="category.png", prompt="category, catalogue")),
            make_doc(make_asset("exact", description="a cat on a long, long, long, long road")),
            *(make_doc(make_asset(f"cat{i}", prompt=f"cat number {i}")) for i in range(8)),
            make_doc(make_asset("none", prompt="a dog")),
        )
        ranked = ids_of(search(index, "cat"))
        assert set(ranked) == {aid("longer"), aid("exact"), *(aid(f"cat{i}") for i in range(8))}
        assert ranked[-1] == aid("longer")
        assert ids_of(search(index, "categ")) == [aid("longer")]

    def test_model_lora_sampler_and_generator_names_are_words(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("sdxl", model="sd_xl_base_1.0.safetensors", sampler="Euler a")),
            make_doc(make_asset("dream", model="dreamshaper_8.safetensors", generator="ComfyUI")),
            make_doc(make_asset("jugg", model="juggernautXL_v9Rundiffusionphoto2.safetensors",
                                loras=["add_detail", "epiNoiseoffset_v2"])),
            make_doc(make_asset("flux", model="flux1-dev", sampler="dpmpp_2m_sde")),
        )  # fmt: skip
        assert found(index, "sdxl") == {aid("sdxl")}
        assert found(index, "dreamshaper") == found(index, "comfyui") == {aid("dream")}
        assert found(index, "juggernaut xl") == found(index, "juggernautXL") == {aid("jugg")}
        assert found(index, "noiseoffset ") == found(index, "add detail") == {aid("jugg")}
        assert found(index, "flux-dev") == found(index, "flux dev") == {aid("flux")}
        assert found(index, "euler") == {aid("sdxl")}
        assert found(index, "dpmpp sde") == {aid("flux")}

    def test_prompt_syntax_is_indexed_as_its_words(self, index: SearchIndex) -> None:
        put(
            index,
            make_doc(make_asset("a1111", prompt="(masterpiece:1.2), [castle|tower], "
                                "{red|blue} sky <lora:ghibli_style_offset:0.8>",
                                negative_prompt="(blurry:1.4), lowres")),
        )  # fmt: skip
        one = {aid("a1111")}
        for text in ("masterpiece", "castle", "tower", "blue", "ghibli style", "blurry",
                     "lowres", "ghibli_style_offset"):  # fmt: skip
            assert found(index, text) == one, text
        assert found(index, "1.2 ") == found(index, "0.8 ") == set()  # weights are not words
