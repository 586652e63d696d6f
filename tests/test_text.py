import sys

import pytest
import torch

from genlab.data import Vocabulary, encode_corpus, names_corpus, split_names


def write_census(folder, female=("MARY 2.629 2.629 1", "ANNA 0.5 3.1 2"), male=("JOHN 3.2 3.2 1", "ANNA 0.1 3.3 2"),
                 last=("SMITH 1.0 1.0 1",)):
    for name, lines in [("dist.female.first", female), ("dist.male.first", male), ("dist.all.last", last)]:
        (folder / name).write_text("\n".join(lines) + "\n", encoding="ascii")


def test_census_corpus_sizes_are_the_published_counts():
    # 4,275 female + 1,219 male first names, 331 of them in both lists; 88,799 last names.
    first, last, both = names_corpus("first"), names_corpus("last"), names_corpus("all")
    assert (len(first), len(last)) == (4275 + 1219 - 331, 88_799)
    assert len(both) == len(set(first) | set(last))
    for corpus in (first, last, both):
        assert corpus == sorted(set(corpus)), "sorted and unique"
        assert all(n.isalpha() and n == n.lower() for n in corpus)
    assert {"mary", "james", "linda"} <= set(first) and "smith" in set(last)


def test_corpus_from_a_local_copy_merges_and_lowercases(tmp_path):
    write_census(tmp_path)
    assert names_corpus("first", path=tmp_path) == ["anna", "john", "mary"]
    assert names_corpus("last", path=tmp_path) == ["smith"]
    assert names_corpus("all", path=tmp_path) == ["anna", "john", "mary", "smith"]


def test_missing_census_file_is_named(tmp_path):
    (tmp_path / "dist.female.first").write_text("MARY 2.629 2.629 1\n")
    with pytest.raises(FileNotFoundError, match=r"dist\.male\.first.*pip install"):
        names_corpus("first", path=tmp_path)


def test_missing_names_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "names", None)  # makes `import names` fail
    with pytest.raises(ImportError, match=r"pip install names"):
        names_corpus("first")


def test_malformed_census_line_and_unknown_kind(tmp_path):
    write_census(tmp_path, female=("MARY 2.629 2.629 1", "not a census line at all"))
    with pytest.raises(ValueError, match=r"line 2"):
        names_corpus("first", path=tmp_path)
    with pytest.raises(ValueError, match=r"unknown names corpus 'middle'"):
        names_corpus("middle")


def test_vocabulary_layout_and_round_trip():
    vocab = Vocabulary.from_corpus(["bob", "ada"])
    assert vocab.size == 3 + 4 and vocab.characters == ["a", "b", "d", "o"]
    assert (vocab.pad, vocab.begin, vocab.end) == (0, 1, 2)
    assert vocab.encode("abba") == [3, 4, 4, 3]
    for word in ["", "a", "dodo", "baobab"]:
        assert vocab.decode(vocab.encode(word)) == word


def test_decode_stops_at_end_and_skips_padding_and_begin():
    vocab = Vocabulary("ab")
    assert vocab.decode([1, 3, 0, 4, 2, 3, 3]) == "ab"
    assert vocab.decode(torch.tensor([3, 2, 4])) == "a"
    with pytest.raises(ValueError, match="token id 9 is outside"):
        vocab.decode([3, 9])
    with pytest.raises(ValueError, match="one row"):
        vocab.decode(torch.zeros(2, 2, dtype=torch.long))


def test_unknown_character_is_named():
    vocab = Vocabulary("abc")
    with pytest.raises(ValueError, match=r"character 'z' in 'caz'"):
        vocab.encode("caz")
    with pytest.raises(TypeError, match="string"):
        vocab.encode(["a"])
    with pytest.raises(ValueError, match="at least one character"):
        Vocabulary("")


def test_encode_corpus_rows_for_teacher_forcing():
    vocab = Vocabulary("abc")
    rows = encode_corpus(["ab", "c"], vocab)
    assert rows.dtype == torch.long
    assert rows.tolist() == [[1, 3, 4, 2], [1, 5, 2, 0]]
    assert encode_corpus(["ab"], vocab, max_len=4).tolist() == [[1, 3, 4, 2, 0, 0]]
    assert [vocab.decode(r) for r in encode_corpus(["cab", "a", "bb"], vocab)] == ["cab", "a", "bb"]


def test_encode_corpus_rejects_impossible_requests():
    vocab = Vocabulary("abc")
    with pytest.raises(ValueError, match=r"longer than max_len=2.*'abc'"):
        encode_corpus(["ab", "abc"], vocab, max_len=2)
    with pytest.raises(ValueError, match="at least one text"):
        encode_corpus([], vocab)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        encode_corpus(["abd"], vocab)


def test_split_names_is_a_fixed_partition():
    names = [f"n{i}" for i in range(100)]
    train, test = split_names(names, 0.1, seed=3)
    assert len(test) == 10 and len(train) == 90
    assert sorted(train + test) == sorted(names)
    assert (train, test) == split_names(names, 0.1, seed=3)
    assert test != split_names(names, 0.1, seed=4)[1]
