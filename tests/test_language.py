from __future__ import annotations

import pytest

from tests.conftest import read_demo
from textauto.features.language import detect_language, resolve_language

# A few support-desk sentences per language, written for these tests.
SAMPLES = {
    "en": [
        "My order has not arrived yet and the tracking page shows no update since Monday.",
        "Can you tell me how to change the address on my account?",
        "I was charged twice for the same subscription this month.",
    ],
    "de": [
        "Meine Bestellung ist noch nicht angekommen und die Sendungsverfolgung zeigt nichts Neues.",
        "Können Sie mir sagen, wie ich die Adresse in meinem Konto ändern kann?",
        "Mir wurde das gleiche Abonnement in diesem Monat zweimal berechnet.",
    ],
    "fr": [
        "Ma commande n'est toujours pas arrivée et le suivi ne montre rien depuis lundi.",
        "Pouvez-vous me dire comment changer l'adresse de mon compte ?",
        "J'ai été débité deux fois pour le même abonnement ce mois-ci.",
    ],
    "es": [
        "Mi pedido todavía no ha llegado y el seguimiento no muestra nada desde el lunes.",
        "¿Me pueden decir cómo cambiar la dirección de mi cuenta?",
        "Me cobraron dos veces la misma suscripción este mes.",
    ],
    "it": [
        "Il mio ordine non è ancora arrivato e il tracciamento non mostra novità da lunedì.",
        "Potete dirmi come cambiare l'indirizzo del mio account?",
        "Mi è stato addebitato due volte lo stesso abbonamento questo mese.",
    ],
    "pt": [
        "O meu pedido ainda não chegou e o rastreamento não mostra nada desde segunda-feira.",
        "Podem me dizer como mudar o endereço da minha conta?",
        "Fui cobrado duas vezes pela mesma assinatura este mês.",
    ],
    "nl": [
        "Mijn bestelling is nog niet aangekomen en de tracking laat sinds maandag niets zien.",
        "Kunt u mij vertellen hoe ik het adres van mijn account kan wijzigen?",
        "Er is deze maand twee keer voor hetzelfde abonnement afgeschreven.",
    ],
    "pl": [
        "Moje zamówienie jeszcze nie dotarło, a śledzenie przesyłki nic nie pokazuje od poniedziałku.",
        "Czy możecie mi powiedzieć, jak zmienić adres na moim koncie?",
        "W tym miesiącu za tę samą subskrypcję pobrano ode mnie opłatę dwa razy.",
    ],
    "tr": [
        "Siparişim hâlâ gelmedi ve kargo takibi pazartesiden beri bir şey göstermiyor.",
        "Hesabımdaki adresi nasıl değiştirebileceğimi söyler misiniz?",
        "Bu ay aynı abonelik için benden iki kez ücret alındı.",
    ],
    "ru": [
        "Мой заказ ещё не пришёл, и отслеживание ничего не показывает с понедельника.",
        "Подскажите, пожалуйста, как изменить адрес в моём аккаунте?",
        "В этом месяце с меня дважды списали деньги за одну и ту же подписку.",
    ],
    "el": [
        "Η παραγγελία μου δεν έχει φτάσει ακόμα.",
        "Πώς μπορώ να αλλάξω τη διεύθυνση του λογαριασμού μου;",
    ],
    "ar": [
        "لم يصل طلبي بعد ولا تظهر صفحة التتبع أي تحديث منذ يوم الاثنين.",
        "كيف يمكنني تغيير العنوان في حسابي؟",
    ],
    "zh": ["我的订单还没有到，物流信息从星期一开始就没有更新。", "请问怎么修改我账户里的地址？"],
    "ja": [
        "注文した商品がまだ届いていません。月曜日から追跡情報が更新されていません。",
        "アカウントの住所を変更する方法を教えてください。",
    ],
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_the_language_of_a_corpus_is_detected(lang):
    assert detect_language(SAMPLES[lang] * 5) == lang


def test_the_demo_data_is_english():
    texts, _ = read_demo()
    assert detect_language(texts) == "en"


def test_short_english_messages_are_english():
    """The Slovenian and Romanian lists hold every letter: "s" and "t" of "it's" and "don't"
    must not decide."""
    texts = ["it's ok", "don't go", "U.S. news", "I'm in, r u?", "can't wait!!", "lol ok c u"]
    assert detect_language(texts * 3) == "en"


def test_text_in_no_language_is_multilingual():
    assert detect_language(["SKU-4411 x3", "1234 5678", "#ABC-99 42"]) == "xx"
    assert detect_language(["", "12.5", "!!!"]) == "xx"


def test_a_named_language_is_kept_and_auto_is_resolved():
    assert resolve_language("de", SAMPLES["en"]) == ("de", None)
    assert resolve_language("auto", SAMPLES["fr"]) == ("fr", "fr")


def test_a_language_whose_tokenizer_is_not_installed_falls_back_to_multilingual(monkeypatch):
    """spaCy's Japanese tokenizer needs sudachipy: the spaCy features use the multi-language one."""
    import textauto.features.language as language

    monkeypatch.setattr(language, "has_tokenizer", lambda lang: lang != "ja")
    assert resolve_language("auto", SAMPLES["ja"]) == ("xx", "ja")


def test_train_records_the_language_it_detected_or_was_given(invoke, tmp_path):
    import json

    from tests.conftest import DEMO_TRAIN

    result = invoke("train", DEMO_TRAIN, "--n-trials", "2", "--out", tmp_path / "auto")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert (manifest["lang"], manifest["lang_detected"]) == ("en", "en")
    assert "- language: `en` (detected)" in (tmp_path / "auto" / "report.md").read_text()
    result = invoke("train", DEMO_TRAIN, "--n-trials", "2", "--lang", "de", "--out", tmp_path / "de")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "de" / "manifest.json").read_text())
    assert (manifest["lang"], manifest["lang_detected"]) == ("de", None)
    assert "- language: `de` (configured)" in (tmp_path / "de" / "report.md").read_text()


def test_the_search_uses_the_detected_language_for_stop_words():
    from textauto import AutoTextClassifier

    texts = SAMPLES["de"] * 4 + [s.replace("Abonnement", "Konto") for s in SAMPLES["de"]] * 4
    labels = ["a"] * 12 + ["b"] * 12
    config = {"space": {"representations": ["word"], "classifiers": ["ridge"], "word": {"stop_words": True}}}
    est = AutoTextClassifier(n_trials=1, config=config).fit(texts, labels)
    assert (est.lang_, est.detected_lang_) == ("de", "de")
    (_, pipeline), *_ = est.model_.estimators_  # the saved model: a one-member ensemble
    assert "und" in pipeline.named_steps["features"].stop_words
