"""Protocol parameter files."""

import pytest

from siambench.datasets import list_datasets
from siambench.errors import UnknownNameError
from siambench.protocols import load_protocol, protocol_names


@pytest.mark.parametrize("name, interval", [("vot2016", (108, 371)), ("vot2017", (100, 356)),
                                            ("vot2018", (100, 356)), ("vot2019", (46, 291))])
def test_vot_protocols_carry_the_challenge_parameters(name, interval):
    protocol = load_protocol(name)
    assert protocol.kind == "supervised" and protocol.eao_interval == interval
    assert (protocol["burnin"], protocol["skip_initialize"], protocol["failure_overlap"]) == (
        10, 5, 0.0)


def test_got10k_and_ope():
    assert load_protocol("got10k").repetitions == 3
    assert load_protocol("ope").kind == "one-pass" and load_protocol("ope").repetitions == 1


def test_every_dataset_names_a_shipped_protocol():
    names = set(protocol_names())
    assert {spec.protocol for spec in list_datasets()} <= names


def test_unknown_protocol():
    with pytest.raises(UnknownNameError, match="unknown protocol 'vot1999'"):
        load_protocol("vot1999")


@pytest.mark.parametrize("name, family", [("ope", "ope"), ("lasot", "ope"), ("uav123", "ope"),
                                          ("got10k", "got10k"), ("vot2016", "vot"),
                                          ("vot2017", "vot"), ("vot2018", "vot"), ("vot2019", "vot")])
def test_each_protocol_states_its_metric_family_and_result_format(name, family):
    protocol = load_protocol(name)
    assert protocol.metric_family == family and protocol.result_format == family


def test_uav123_has_its_own_protocol_with_lasots_parameters():
    from siambench.datasets import get_spec

    uav, lasot = load_protocol("uav123"), load_protocol("lasot")
    assert uav.name == "uav123"
    assert {k: v for k, v in uav.params.items() if k != "name"} == \
        {k: v for k, v in lasot.params.items() if k != "name"}
    assert {get_spec(n).protocol for n in ("uav123", "uav20l", "uav123-10fps")} == {"uav123"}
