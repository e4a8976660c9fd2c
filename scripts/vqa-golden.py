#!/usr/bin/env python3
"""Golden cases for `groundlmm vqa-score`: crafted answer files scored by the OFFICIAL evaluators.

Every expected number in tests/golden/vqa/<bench>/expected.json comes from running the official Python code (never
from a re-implementation of ours); this script only writes the crafted inputs, calls that code and records what it
returns. The official sources are not part of this repository; give their checkouts on the command line:

  --llava DIR     haotian-liu/LLaVA at c121f0432da27facab705978f83c4ada465e46fd (llava/eval/m4c_evaluator.py,
                  llava/eval/eval_textvqa.py, llava/eval/eval_pope.py, llava/eval/eval_science_qa.py,
                  scripts/convert_vqav2_for_submission.py, scripts/convert_vizwiz_for_submission.py,
                  scripts/convert_gqa_for_eval.py); DIR needs llava/__init__.py and llava/eval/__init__.py (empty files
                  are enough: the package's own __init__ imports torch and the model code).
  --vqa DIR       GT-Vision-Lab/VQA at a013f0043c1e2cdc995922dfe257f7149aa9af06 (PythonHelperTools/vqaTools/vqa.py,
                  PythonEvaluationTools/vqaEvaluation/vqaEval.py). That code is Python 2; it is run here under Python 3
                  after two mechanical changes made in memory: leading tabs expanded as Python 2 reads them (8 columns)
                  and `print x` statements turned into print(x) calls. Nothing else is touched.
  --vlmevalkit D  open-compass/VLMEvalKit at e8e78f05f3080fe28154f2130321f17951c3be94 (vlmeval/utils/matching_util.py,
                  vlmeval/dataset/utils/multiple_choice.py): MMBench's circular evaluation as the official toolkit runs
                  it with judge "exact_matching" (no GPT): can_infer per rotated copy, a question counts when every copy
                  is right; report_acc per split, l2-category and category. Its package imports are replaced by small
                  stand-ins (logger, pickle dump/load, istype, timestr); the dataset preprocessing of
                  ImageMCQDataset.evaluate_heuristic (index as int, sorted, prediction as str) is repeated here.
  LLaVA-Bench: llava/eval/eval_gpt_review_bench.py is run as is with a stand-in for the openai module whose
                  ChatCompletion.create records each request and answers with crafted judge replies; then
                  llava/eval/summarize_gpt_review.py on the reviews it wrote.
  Prompts: llava/eval/model_vqa_loader.py, model_vqa_science.py, model_vqa_mmbench.py and model_vqa.py are run as is
                  (eval_model with the arguments of scripts/v1_5/eval/*.sh) with stand-ins for torch, shortuuid and
                  LLaVA's model code that record each prompt given to the tokenizer and each generate() setting;
                  llava/conversation.py and llava/constants.py are LLaVA's own.
  --gqa-eval F    GQA's eval.py as LLaVA's docs/Evaluation.md asks it to be modified (gist db6eddc2 by haotian-liu:
                  scene graphs and choices not loaded, questions file "{tier}_questions.json"); the copy used is
                  afra-baas/LLaVA@5caf817b5ae1b0419b0fd6f9cf36a3927f84820d playground/data/eval/gqa/data/eval.py (it
                  also writes its printout to --output-dir). The scores are read from the script's globals (runpy),
                  unrounded.

Needs tqdm and pandas (Debian: python3-tqdm python3-pandas). Run with /usr/bin/python3:
  /usr/bin/python3 scripts/vqa-golden.py --llava REF/LLaVA --vqa REF/VQA --gqa-eval REF/eval.py --out tests/golden/vqa
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import re
import runpy
import string
import shutil
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--llava", required=True)
ap.add_argument("--vqa", required=True)
ap.add_argument("--gqa-eval", required=True)
ap.add_argument("--vlmevalkit", required=True)
ap.add_argument("--groundlmm", help="optional: also check that this binary's MMBench .xlsx reads back (pandas) as the "
                "official converter's")
ap.add_argument("--out", required=True)
args = ap.parse_args()
OUT = os.path.abspath(args.out)
LLAVA = os.path.abspath(args.llava)
sys.path.insert(0, LLAVA)


def write_json(path, obj, compact=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=None if compact else 1, ensure_ascii=False)
        f.write("\n")


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def answer(qid, text, prompt="", **extra):
    r = {"question_id": qid, "prompt": prompt, "text": text, "answer_id": "a%s" % qid, "model_id": "crafted",
         "metadata": {}}
    r.update(extra)
    return r


# Answers that exercise every rule of the VQA normalisation (EvalAI's processor as LLaVA applies it, then the
# official tool's): commas (dropped by LLaVA's processor, also between digits), periods (kept before a digit, at
# most 32 removed per answer: re.sub's count is re.UNICODE), punctuation next to spaces or digits, number words,
# articles, contractions, "'s", case, newlines and tabs, non-ASCII letters, digits and spaces (no capital sigma at
# the end of a word: Python lowers it to a final sigma by context, which src/eval/vqa-text.h does not model).
VQA_TEXTS = [
    "Yes", "Yes,", "yes.", "No", "Two", "2.", "two dogs", "A dog.", "the Dog", "an apple", "Dogs", "cant", "dont",
    "Can't", "t-shirt", "T - Shirt", "10,000", "10000", "3.5", "3.5.", "3 . 5", "It's red", "Let's go", "Im here",
    "None", "zero", "ten", "eleven", "red!", "(red)", "red/blue", "red;blue", "yes\nno", "\tyes\t", "  Yes  ",
    "wouldnt've", "couldn'tve", "Ive", "I've", "whats", "a.b.c", "." * 40, "1,2,3", "1, 2, 3", "\"quoted\"",
    "@home", "<tag>", "C++", "under_score", "back\\slash", "`tick`", "CAFÉ", "café", "É", "٣,٤", "٣٤", "١.٥",
    "yes\u00a0no", "no\u2003way", "İstanbul", "ΑΒΓ", "ﬁsh", "", " ", "?", "!!!", "the", "a an the", "One.",
    "ONE", "Nine!", "8:30", "8.30", "$5", "5%", "left, right", "yes?", "x=y+z", "[a]", "{b}", "The answer is two.",
]


def vqa_gt_pool():
    # ground-truth answer sets: 10 answers each (the tool and m4c's evaluator assume ten)
    return [
        ["yes"] * 10,
        ["yes"] * 7 + ["no"] * 3,
        ["2"] * 4 + ["two"] * 3 + ["2."] * 3,
        ["dog"] * 5 + ["dogs"] * 2 + ["the dog"] * 2 + ["a dog"],
        ["can't"] * 3 + ["cant"] * 3 + ["can not"] * 4,
        ["t-shirt"] * 4 + ["t shirt"] * 3 + ["tshirt"] * 3,
        ["10,000"] * 3 + ["10000"] * 3 + ["10 000"] * 4,
        ["3.5"] * 5 + ["3.50"] * 5,
        ["red"] * 2 + ["red!"] * 2 + ["(red)"] * 2 + ["red/blue"] * 2 + ["red blue"] * 2,
        ["it's red"] * 3 + ["its red"] * 3 + ["it 's red"] * 4,
        ["0"] * 3 + ["none"] * 3 + ["zero"] * 4,
        ["café"] * 4 + ["CAFÉ"] * 3 + ["cafe"] * 3,
        ["34"] * 3 + ["٣٤"] * 4 + ["3,4"] * 3,
        ["yes no"] * 5 + ["yes\u00a0no"] * 5,
        ["8:30"] * 3 + ["8.30"] * 3 + ["830"] * 4,
        ["what's"] * 5 + ["whats"] * 5,
        ["i've"] * 5 + ["ive"] * 5,
        ["left right"] * 4 + ["left, right"] * 3 + ["left,right"] * 3,
        ["1,2,3"] * 5 + ["123"] * 5,
        ["no"] * 10,
    ]


def vqa_like_case():
    """VQAv2 val-format annotations + questions; every crafted answer against several ground-truth sets."""
    pool = vqa_gt_pool()
    anns, ques, rows = [], [], []
    qtypes = ["is the", "how many", "what color is the", "what is", "none of the above"]
    atypes = {"yes": "yes/no", "no": "yes/no"}
    qid = 1000
    for i, text in enumerate(VQA_TEXTS):
        for k in range(2):
            gts = pool[(i * 7 + k * 5) % len(pool)]
            if k == 0:  # ground truth made of the answer's own variants: matches after normalisation, or not
                gts = [text] * 3 + [text.upper()] * 3 + [text.strip(".")] * 2 + ["zzz", "Zzz."]
            qid += 1
            img = 500000 + i
            atype = atypes.get(gts[0], "number" if gts[0][:1].isdigit() else "other")
            anns.append({"question_id": qid, "image_id": img, "question_type": qtypes[(i + k) % len(qtypes)],
                         "answer_type": atype, "multiple_choice_answer": gts[0],
                         "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": j + 1}
                                     for j, a in enumerate(gts)]})
            ques.append({"image_id": img, "question": "Question %d?" % qid, "question_id": qid})
            if (i + k) % 17 == 5:
                continue  # no answer: LLaVA's converter submits '' for it
            rows.append(answer(qid, text, "Question %d?\nAnswer the question using a single word or phrase." % qid))
    return anns, ques, rows


def import_path(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def py2_module(name, path):
    """Loads a Python 2 module of the VQA tool under Python 3: tabs expanded, print statements as calls."""
    src = open(path, encoding="utf-8").read()
    lines = []
    for line in src.split("\n"):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)].expandtabs(8)
        m = re.match(r"print\s+(?!\()(.*)$", stripped)
        if m:
            stripped = "print(%s)" % m.group(1)
        lines.append(indent + stripped)
    mod = type(sys)(name)
    exec(compile("\n".join(lines), path, "exec"), mod.__dict__)
    sys.modules[name] = mod
    return mod


def quiet():
    return contextlib.redirect_stdout(io.StringIO())


def make_vqav2():
    d = os.path.join(OUT, "vqav2")
    anns, ques, rows = vqa_like_case()
    ann_file = os.path.join(d, "v2_mscoco_val2014_annotations.json")
    q_file = os.path.join(d, "v2_OpenEnded_mscoco_val2014_questions.json")
    write_json(ann_file, {"info": {}, "license": {}, "data_subtype": "val2014", "annotations": anns}, compact=True)
    write_json(q_file, {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco", "data_subtype": "val2014",
                        "license": {}, "questions": ques}, compact=True)
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    # LLaVA's converter, run as LLaVA runs it (paths under --dir): its question list is the split's questions
    with tempfile.TemporaryDirectory() as tmp:
        split, ckpt = "val", "crafted"
        os.makedirs(os.path.join(tmp, "answers", split, ckpt))
        shutil.copy(os.path.join(d, "answers.jsonl"), os.path.join(tmp, "answers", split, ckpt, "merge.jsonl"))
        write_jsonl(os.path.join(tmp, "llava_vqav2_mscoco_test2015.jsonl"),
                    [{"question_id": q["question_id"], "image": "x.jpg", "text": q["question"]} for q in ques])
        env = dict(os.environ, PYTHONPATH=LLAVA)
        subprocess.run([sys.executable, os.path.join(LLAVA, "scripts/convert_vqav2_for_submission.py"), "--dir", tmp,
                        "--ckpt", ckpt, "--split", split], check=True, env=env, stdout=subprocess.DEVNULL)
        sub_file = os.path.join(tmp, "answers_upload", split, ckpt + ".json")
        submission = json.load(open(sub_file))
        vqa_mod = py2_module("vqa", os.path.join(args.vqa, "PythonHelperTools/vqaTools/vqa.py"))
        eval_mod = py2_module("vqaEval", os.path.join(args.vqa, "PythonEvaluationTools/vqaEvaluation/vqaEval.py"))
        with quiet():
            vqa = vqa_mod.VQA(ann_file, q_file)
            res = vqa.loadRes(sub_file, q_file)
            ev = eval_mod.VQAEval(vqa, res, n=2)
            ev.evaluate()
    n_answers = len(rows)
    write_json(os.path.join(d, "expected-submission.json"), submission)
    write_json(os.path.join(d, "expected.json"), {
        "bench": "vqav2", "n_questions": len(anns), "n_answers": n_answers, "n_missing": len(anns) - n_answers,
        "accuracy": ev.accuracy})


def make_vizwiz():
    d = os.path.join(OUT, "vizwiz")
    qs = [{"question_id": i, "image": "VizWiz_test_%08d.jpg" % i, "text": "Q%d?\nWhen the provided information is "
           "insufficient, respond with 'Unanswerable'.\nAnswer the question using a single word or phrase." % i}
          for i in range(len(VQA_TEXTS))]
    rows = [answer(q["question_id"], t, q["text"]) for q, t in zip(qs, VQA_TEXTS)]
    rows.reverse()  # the converter follows the question file's order, not the answers'
    write_jsonl(os.path.join(d, "llava_test.jsonl"), qs)
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    with tempfile.TemporaryDirectory() as tmp:
        up = os.path.join(tmp, "up", "crafted.json")
        env = dict(os.environ, PYTHONPATH=LLAVA)
        subprocess.run([sys.executable, os.path.join(LLAVA, "scripts/convert_vizwiz_for_submission.py"),
                        "--annotation-file", os.path.join(d, "llava_test.jsonl"), "--result-file",
                        os.path.join(d, "answers.jsonl"), "--result-upload-file", up], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        write_json(os.path.join(d, "expected-submission.json"), json.load(open(up)))
    write_json(os.path.join(d, "expected.json"), {"bench": "vizwiz", "n_questions": len(qs), "n_answers": len(rows),
                                                  "n_missing": 0})


def make_textvqa():
    d = os.path.join(OUT, "textvqa")
    pool = vqa_gt_pool()
    data, rows = [], []
    suffix = "Answer the question using a single word or phrase."
    for i, text in enumerate(VQA_TEXTS):
        img = "%016x" % (0xabc000 + i // 2)  # two questions per image
        q = ["What is written on the Sign %d?" % i, "WHAT does it say (%d)?" % i][i % 2]
        gts = pool[(i * 3) % len(pool)]
        if i % 2 == 0:
            gts = [text] * 4 + [text.title()] * 3 + [text.rstrip("!.")] * 2 + ["zzz"]
        data.append({"image_id": img, "question": q, "question_id": 34602 + i, "answers": gts,
                     "image_classes": [], "set_name": "val"})
        ocr = "Reference OCR token: STOP, %d, Café" % i
        form = i % 4
        if form == 0:
            prompt = "%s\n%s\n%s" % (q, ocr, suffix)
        elif form == 1:
            prompt = "%s\n%s\n%s" % (ocr, q, suffix)
        elif form == 2:
            prompt = "%s\n%s" % (q, suffix)
        else:
            prompt = "OCR tokens: stop, go Question: %s Short answer:" % q
        rows.append(answer(img, text, prompt))
    write_json(os.path.join(d, "TextVQA_0.5.1_val.json"), {"dataset_type": "val", "dataset_name": "textvqa",
                                                            "dataset_version": "0.5.1", "data": data}, compact=True)
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    from llava.eval import eval_textvqa, m4c_evaluator
    got = []
    orig = m4c_evaluator.TextVQAAccuracyEvaluator.eval_pred_list

    def spy(self, pred_list):
        acc = orig(self, pred_list)
        got.append((len(pred_list), acc))
        return acc
    eval_textvqa.TextVQAAccuracyEvaluator.eval_pred_list = spy
    with quiet(), contextlib.redirect_stderr(io.StringIO()):
        eval_textvqa.eval_single(os.path.join(d, "TextVQA_0.5.1_val.json"), os.path.join(d, "answers.jsonl"))
    n, acc = got[0]
    write_json(os.path.join(d, "expected.json"), {"bench": "textvqa", "n_samples": n, "accuracy": 100. * acc})


POPE_TEXTS = ["Yes", "No", "yes", "no", "Yes, there is a dog in the image.", "No, there is not.",
              "There is no dog.", "yes.", "No.", "NO", "Not sure", "I think so", "no, yes", "Yes,no", "Yes. No.",
              "The answer is no", "nope", "", "no\nyes", "Yes\nno", "There is not a cat. No.", "not", "No!", "no,",
              "Certainly not.", "Yes; no", "Is there? no", "no. yes"]


def make_pope():
    d = os.path.join(OUT, "pope")
    cats = ["adversarial", "popular", "random"]
    qs, rows, labels = [], [], {c: [] for c in cats}
    qid = 0
    objs = ["dog", "cat", "snowboard", "dining table", "person"]
    for ci, c in enumerate(cats):
        for j in range(len(POPE_TEXTS) + 2 * ci):
            qid += 1
            img = "COCO_val2014_%012d.jpg" % (1000 + j // 2)
            q = "Is there a %s in the image?" % objs[(j + ci) % len(objs)]
            lab = "yes" if (j * 5 + ci) % 3 != 0 else "no"
            labels[c].append({"question_id": j + 1, "image": img, "text": q, "label": lab})
            qs.append({"question_id": qid, "image": img, "text": q + "\nAnswer the question using a single word or "
                       "phrase.", "category": c})
            rows.append(answer(qid, POPE_TEXTS[(j + 3 * ci) % len(POPE_TEXTS)], qs[-1]["text"]))
    write_jsonl(os.path.join(d, "llava_pope_test.jsonl"), qs)
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    for c in cats:
        write_jsonl(os.path.join(d, "coco", "coco_pope_%s.json" % c), labels[c])
    from llava.eval import eval_pope
    questions = {q["question_id"]: q for q in qs}
    out = {}
    for c in cats:
        cur = [json.loads(json.dumps(x)) for x in rows if questions[x["question_id"]]["category"] == c]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            eval_pope.eval_pope(cur, os.path.join(d, "coco", "coco_pope_%s.json" % c))
        lines = buf.getvalue().split("\n")
        tp, fp, tn, fn = (int(v) for v in lines[1].split("\t"))
        vals = {}
        for line in lines[2:]:
            if ": " in line:
                k, v = line.split(": ", 1)
                vals[k] = float(v)  # printed with str(float): the shortest repr, exact
        out[c] = {"n": len(cur), "TP": tp, "FP": fp, "TN": tn, "FN": fn, "accuracy": vals["Accuracy"],
                  "precision": vals["Precision"], "recall": vals["Recall"], "f1": vals["F1 score"],
                  "yes_ratio": vals["Yes ratio"]}
    write_json(os.path.join(d, "expected.json"), {"bench": "pope", "categories": out})


SQA_TEXTS = ["A", "B", "C", "D", "E", "A.", "B. the cat", "C. ", "The answer is B.", "The answer is C",
             "The answer is A. The answer is B.", "The answer is b.", "a", "", "Answer: C", "B.the cat", "D.  x",
             "The answer is E.", "I think The answer is A!", "The answer is AB.", "FAILED", "Z", "The answer is Z.",
             "The answer is D\nThe answer is D.", "AB", " A", "A ", "The answer is C.\n", "The answer is D.", "C"]


def make_scienceqa():
    d = os.path.join(OUT, "scienceqa")
    problems, test, rows = {}, [], []
    for i, text in enumerate(SQA_TEXTS * 2):
        pid = str(100 + i)
        n_choices = 2 + i % 4
        has_image = i % 3 != 1
        problems[pid] = {"question": "Q%d?" % i, "choices": ["c%d" % k for k in range(n_choices)],
                         "answer": (i * 7) % n_choices, "hint": "", "image": "image.png" if has_image else None,
                         "task": "closed choice", "grade": "grade3", "subject": "natural science",
                         "topic": "t", "category": "c", "skill": "s", "lecture": "", "solution": "",
                         "split": "test"}
        test.append(pid)
        if i % 11 == 4:
            continue  # no prediction: the official script counts it as FAILED (and, without a prompt, not IMG)
        prompt = ("<image>\n" if has_image else "") + "Q%d?\nContext: \nOptions: (A) c0 (B) c1\nAnswer with the " \
            "option's letter from the given choices directly." % i
        rows.append(answer(pid, text, prompt))
    # problems outside the test split are not scored
    problems["9000"] = dict(problems["100"], split="val")
    write_json(os.path.join(d, "problems.json"), problems)
    write_json(os.path.join(d, "pid_splits.json"), {"test": test, "val": ["9000"], "train": []})
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(LLAVA, "llava/eval/eval_science_qa.py"), "--base-dir", d,
                        "--result-file", os.path.join(d, "answers.jsonl"), "--output-file",
                        os.path.join(tmp, "out.json"), "--output-result", os.path.join(tmp, "res.json")],
                       check=True, stdout=subprocess.DEVNULL)
        res = json.load(open(os.path.join(tmp, "res.json")))
        outs = json.load(open(os.path.join(tmp, "out.json")))
    mc = len([x for x in outs["correct"] if x["is_multimodal"]])
    mt = mc + len([x for x in outs["incorrect"] if x["is_multimodal"]])
    # the official script prints IMG-Accuracy as multimodal_correct / multimodal_total * 100 (same expression here)
    write_json(os.path.join(d, "expected.json"), {
        "bench": "scienceqa", "acc": res["acc"], "correct": res["correct"], "count": res["count"],
        "img_acc": mc / mt * 100, "img_correct": mc, "img_count": mt,
        "parsed": {pid: res["results"][pid] for pid in res["results"]}})


GQA_TEXTS = ["Yes", "yes.", "No..", "left", "Left.", "The table", "table", "table.", "red ", " red", "wood",
             "Wooden.", "", ".", "yes ", "no", "man", "A man.", "women", "right.\n", "gray", "grey", "sitting",
             "Sitting."]


def make_gqa():
    d = os.path.join(OUT, "gqa")
    golds = ["yes", "yes", "no", "left", "left", "table", "table", "table", "red", "red", "wood", "wooden", "no",
             "yes", "yes", "no", "man", "man", "woman", "right", "gray", "gray", "sitting", "sitting"]
    structs = ["verify", "query", "logical", "choose", "compare", "query"]
    sems = ["attr", "rel", "obj", "cat", "global"]
    questions, rows = {}, []
    for i, (text, gold) in enumerate(zip(GQA_TEXTS, golds)):
        qid = "20%06d" % (i * 37)
        questions[qid] = {"imageId": "n%d" % i, "question": "Is the thing %d here?" % i, "answer": gold,
                          "fullAnswer": "", "isBalanced": True, "groups": {"global": None if i % 4 else gold,
                                                                           "local": "x"},
                          "types": {"structural": structs[i % len(structs)], "semantic": sems[i % len(sems)],
                                    "detailed": "d"},
                          "semantic": [{"operation": "select", "argument": "thing", "dependencies": []},
                                       {"operation": ["exist", "query", "verify"][i % 3],
                                        "argument": "name" if i % 2 else "color", "dependencies": [0]}],
                          "annotations": {"question": {}, "answer": {}, "fullAnswer": {}}, "entailed": [],
                          "equivalent": [qid]}
        rows.append(answer(qid, text, "Is the thing %d here?\nAnswer the question using a single word or phrase." % i))
    q_file = os.path.join(d, "testdev_balanced_questions.json")
    write_json(q_file, questions)
    write_jsonl(os.path.join(d, "answers.jsonl"), rows)
    with tempfile.TemporaryDirectory() as tmp:
        pred = os.path.join(tmp, "testdev_balanced_predictions.json")
        subprocess.run([sys.executable, os.path.join(LLAVA, "scripts/convert_gqa_for_eval.py"), "--src",
                        os.path.join(d, "answers.jsonl"), "--dst", pred], check=True)
        argv = sys.argv
        sys.argv = ["eval.py", "--tier", "testdev_balanced", "--questions", q_file, "--predictions", pred,
                    "--output-dir", os.path.join(tmp, "printout.txt")]
        with quiet(), contextlib.redirect_stderr(io.StringIO()):
            g = runpy.run_path(args.gqa_eval, run_name="__main__")
        sys.argv = argv
    s = g["scores"]
    write_json(os.path.join(d, "expected.json"), {
        "bench": "gqa", "n_questions": len(s["accuracy"]) if isinstance(s["accuracy"], list) else len(questions),
        "accuracy": s["accuracy"], "binary": s["binary"], "open": s["open"],
        "accuracyPerStructuralType": {k: v[0] for k, v in s["accuracyPerStructuralType"].items()},
        "accuracyPerSemanticType": {k: v[0] for k, v in s["accuracyPerSemanticType"].items()}})


# how a right answer may be written (L: the letter, T: the option text)
MMB_RIGHT = ["{L}", "{L}.", "({L}) {T}", "The answer is {L}", "answer is **{l}**", "{T}", "{Tt}.", "[{L}]", "{L}:",
             "The correct answer is {L}.", "Option: {L}", "{l}.", "I think it is the {T}", "{L}) {T}", "{L}\nbecause",
             "It is {L} because the thing in the picture fits it best"]
# answers that hit the other rules of can_infer: rejections, 'Z', several letters, letters far from the end, lower
# case, text matching two options, nothing at all
MMB_TRICKY = [
    "A or B", "Option A is wrong, B is right", "Z", "", "Sorry, I can't help with images of people yet.",
    "Failed to obtain answer via API", "Cannot determine the answer", "The answer is A, not B.", "a", "apple",
    "B is the answer", "ÄPFEL", "The answer is **E**", "D) none", "green pear or blue", "The CORRECT ANSWER IS c",
]


def make_mmbench():
    d = os.path.join(OUT, "mmbench")
    import types
    import pickle
    import datetime
    import pandas as pd
    # stand-ins for the vlmeval package imports of the two official files
    vl = types.ModuleType("vlmeval")
    smp = types.ModuleType("vlmeval.smp")
    smp_log = types.ModuleType("vlmeval.smp.log")
    smp_vlm = types.ModuleType("vlmeval.smp.vlm")
    utils = types.ModuleType("vlmeval.utils")
    import logging
    smp_log.get_logger = smp.get_logger = lambda name: logging.getLogger(name)

    def dump(obj, f):
        with open(f, "wb") as fh:
            pickle.dump(obj, fh)

    def load(f):
        with open(f, "rb") as fh:
            return pickle.load(fh)

    def istype(s, t):
        if isinstance(s, t):
            return True
        try:
            return isinstance(eval(s), t)
        except Exception:
            return False
    smp.dump, smp.load, smp.istype = dump, load, istype
    smp.timestr = lambda granularity="second": datetime.datetime.now().strftime("%Y%m%d%H%M%S%f")
    smp.get_pred_file_format = lambda: "pkl"
    smp.cn_string = smp.d2df = None
    smp_vlm.build_option_str = None
    for name, mod in (("vlmeval", vl), ("vlmeval.smp", smp), ("vlmeval.smp.log", smp_log),
                      ("vlmeval.smp.vlm", smp_vlm), ("vlmeval.utils", utils)):
        sys.modules[name] = mod
    mu = import_path("vlmeval.utils.matching_util", os.path.join(args.vlmevalkit, "vlmeval/utils/matching_util.py"))
    utils.can_infer, utils.can_infer_lego, utils.track_progress_rich = mu.can_infer, mu.can_infer_lego, None
    mc = import_path("multiple_choice", os.path.join(args.vlmevalkit, "vlmeval/dataset/utils/multiple_choice.py"))

    # a dev TSV in MMBench's layout: every question with one rotated copy per option (index + k * 1e6)
    cats = [("coarse_perception", "image_emotion"), ("finegrained_perception (instance-level)", "object_localization"),
            ("logic_reasoning", "structuralized_imagetext_understanding"), ("attribute_reasoning", "physical_property_reasoning"),
            ("relation_reasoning", "social_relation"), ("finegrained_perception (cross-instance)", "spatial_relationship")]
    option_sets = [["red apple", "green pear", "blue", "yellow banana"], ["yes", "no"], ["1", "2", "three"],
                   ["Äpfel", "Birnen", "None"], ["cat", "dog", "zebra crossing", "apple"]]
    rows, answers = [], []
    k_pred = 0
    for q in range(40):
        opts = [o for o in option_sets[q % len(option_sets)] if o != "None"]
        if q % len(option_sets) == 3:
            opts = ["Äpfel", "Birnen"]  # two options: C and D missing
        ans = (q * 3) % len(opts)
        l2, cat = cats[q % len(cats)]
        for k in range(len(opts)):
            rot = opts[k:] + opts[:k]
            row = {"index": q + k * 1000000, "question": "Which one is shown? (%d)" % q,
                   "hint": "A hint\twith a tab and \"quotes\"" if q % 3 == 0 else None,
                   "A": None, "B": None, "C": None, "D": None, "answer": "ABCD"[(ans - k) % len(opts)],
                   "category": cat, "image": "iVBORw0KGgo=", "source": "crafted", "l2-category": l2,
                   "comment": None, "split": "dev"}
            for j, o in enumerate(rot):
                row["ABCD"[j]] = o
            rows.append(row)
            letter = row["answer"]
            text = rot["ABCD".index(letter)]
            if q % 2 == 1 and k == 1:  # one copy of every other question answered trickily
                pred = MMB_TRICKY[(q // 2) % len(MMB_TRICKY)]
            else:
                pred = MMB_RIGHT[k_pred % len(MMB_RIGHT)].format(L=letter, l=letter.lower(), T=text, Tt=text.title())
                k_pred += 1
            answers.append(answer(row["index"], pred, row["question"], round_id=0))
    df = pd.DataFrame(rows)
    os.makedirs(d, exist_ok=True)
    tsv = os.path.join(d, "mmbench_dev_crafted.tsv")
    df.to_csv(tsv, sep="\t", index=False)
    write_jsonl(os.path.join(d, "answers.jsonl"), answers)

    # the evaluation as VLMEvalKit runs it: the dataset TSV as meta, the predictions merged into it as the eval file
    meta = pd.read_table(tsv)
    data = pd.read_table(tsv)
    data.pop("image")
    pred = {a["question_id"]: a["text"] for a in answers}
    data["prediction"] = [pred[i] for i in data["index"]]
    data["index"] = [int(x) for x in data["index"]]
    data = data.sort_values(by="index")
    data["prediction"] = [str(x) for x in data["prediction"]]
    for k in list(data.keys()):
        data[k.lower() if k not in list(string.ascii_uppercase) else k] = data.pop(k)
    with tempfile.TemporaryDirectory() as tmp, quiet(), contextlib.redirect_stderr(io.StringIO()):
        res = mc.mcq_circular_eval(None, data, meta, 1, os.path.join(tmp, "result.pkl"), "MMBench_DEV_EN")
        acc = mc.report_acc(res)
    out = {}
    for col in acc.columns:
        if col == "split":
            continue
        out[col] = {sp: (None if pd.isna(v) else float(v)) for sp, v in zip(acc["split"], acc[col])}
    # LLaVA's submission converter on the same files; its .xlsx read back by pandas as the table to match
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "res"))
        os.makedirs(os.path.join(tmp, "up"))
        shutil.copy(os.path.join(d, "answers.jsonl"), os.path.join(tmp, "res", "crafted.jsonl"))
        subprocess.run([sys.executable, os.path.join(LLAVA, "scripts/convert_mmbench_for_submission.py"),
                        "--annotation-file", tsv, "--result-dir", os.path.join(tmp, "res"), "--upload-dir",
                        os.path.join(tmp, "up"), "--experiment", "crafted"], check=True)
        up = pd.read_excel(os.path.join(tmp, "up", "crafted.xlsx"))
    table = [list(up.columns)] + [[None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row]
                                  for row in up.itertuples(index=False)]
    write_json(os.path.join(d, "expected-submission.json"), table)
    hits = {str(int(i)): int(h) for i, h in zip(res["index"], res["hit"])}
    # can_infer of every row (prefetch_answer; "" where it infers nothing)
    parsed = {str(int(data.iloc[i]["index"])): (mc.prefetch_answer(data.iloc[i]) or "") for i in range(len(data))}
    write_json(os.path.join(d, "expected.json"), {"bench": "mmbench", "n_questions": len(res), "n_rows": len(data),
                                                  "accuracy": out, "hit": hits, "parsed": parsed})


LB_REPLIES = ["8 9\nAssistant 2 is more detailed.", "8,9\nx", "8, 9\nx", "7.5 8\nx", "10 10", "", "Score: 8 9",
              "8 9 ", " 8 9", "1_0 9\nx", "9 8\r\nx", "8\t9", "+8 -1", "8.0 9e0", "6 7", "x y", "3 4\n5 6"]


def make_llava_bench():
    d = os.path.join(OUT, "llava-bench")
    import types
    cats = ["conv", "detail", "complex"]
    qs, ref, ans, ctx = [], [], [], []
    for i in range(len(LB_REPLIES)):
        img = "%03d.jpg" % (i % 4)
        qs.append({"question_id": i, "image": img, "text": "Question %d about the picture?" % i,
                   "category": cats[i % 3]})
        ref.append({"question_id": i, "text": "Reference answer %d.\nIt has two lines." % i, "answer_id": "r%d" % i,
                    "model_id": "gpt-4-0314"})
        ans.append(answer(i, "Model answer %d, with \"quotes\" and ünïcode." % i, qs[-1]["text"]))
    for k in range(4):
        ctx.append({"id": "%03d" % k, "image": "%03d.jpg" % k,
                    "caption": ["A first caption %d." % k, "A second one."] if k % 2 else "One caption %d." % k})
    rule = {"llava_bench_%s" % c: {"role": "Assistant" if c != "detail" else "Helper",
                                   "prompt": "Rate the two answers about %s (crafted rule, same fields as LLaVA's "
                                             "rule.json).\nFirst line: two scores." % c} for c in cats}
    write_jsonl(os.path.join(d, "questions.jsonl"), qs)
    write_jsonl(os.path.join(d, "answers_gpt4.jsonl"), ref)
    write_jsonl(os.path.join(d, "answers.jsonl"), ans)
    write_jsonl(os.path.join(d, "context.jsonl"), ctx)
    write_json(os.path.join(d, "rule.json"), rule)
    write_json(os.path.join(d, "replies.json"), LB_REPLIES)
    # the official review script with a stand-in for the openai client: it records each request and replies
    # with the crafted judge replies in order
    requests, systems = [], []
    replies = iter(LB_REPLIES)

    class ChatCompletion:
        @staticmethod
        def create(model, messages, temperature, max_tokens):
            systems.append(messages[0]["content"])
            requests.append(messages[1]["content"])
            return {"choices": [{"message": {"content": next(replies)}}]}
    openai = types.ModuleType("openai")
    openai.ChatCompletion = ChatCompletion
    openai.error = types.SimpleNamespace(RateLimitError=type("RateLimitError", (Exception,), {}))
    sys.modules["openai"] = openai
    with tempfile.TemporaryDirectory() as tmp:
        rev = os.path.join(tmp, "reviews.jsonl")
        argv = sys.argv
        sys.argv = ["eval_gpt_review_bench.py", "-q", os.path.join(d, "questions.jsonl"), "-c",
                    os.path.join(d, "context.jsonl"), "-a", os.path.join(d, "answers_gpt4.jsonl"),
                    os.path.join(d, "answers.jsonl"), "-r", os.path.join(d, "rule.json"), "-o", rev]
        with quiet():
            runpy.run_path(os.path.join(LLAVA, "llava/eval/eval_gpt_review_bench.py"), run_name="__main__")
        sys.argv = argv
        reviews = [json.loads(l) for l in open(rev)]
        out = subprocess.run([sys.executable, os.path.join(LLAVA, "llava/eval/summarize_gpt_review.py"), "-f", rev],
                             check=True, capture_output=True, text=True).stdout
    summary = {}
    for line in out.split("\n")[1:]:
        parts = line.split(" ")
        if len(parts) == 4:
            summary[parts[0]] = {"relative": float(parts[1]), "reference": float(parts[2]), "model": float(parts[3])}
    write_json(os.path.join(d, "expected.json"), {
        "system": systems[0], "requests": requests, "tuples": [r["tuple"] for r in reviews],
        "reviews": reviews, "summary": summary})


def fake_inference_modules(calls):
    """Stand-ins for torch, shortuuid and LLaVA's model code, so that LLaVA's own llava/eval/model_vqa*.py run their
    question loops: every prompt given to tokenizer_image_token and every model.generate keyword is recorded."""
    import contextlib as cl
    import types

    class FakeTensor:
        def __getattr__(self, name):  # unsqueeze, half, cuda, to, ...
            return lambda *a, **k: self

        def __getitem__(self, i):
            return self
    torch = types.ModuleType("torch")
    torch.float16 = "float16"
    torch.inference_mode = cl.nullcontext
    torch.stack = lambda xs, dim=0: FakeTensor()
    tud = types.ModuleType("torch.utils.data")

    class Dataset:
        pass

    class DataLoader:
        def __init__(self, dataset, batch_size=1, num_workers=0, shuffle=False, collate_fn=None):
            self.dataset, self.collate_fn = dataset, collate_fn

        def __iter__(self):
            for i in range(len(self.dataset)):
                yield self.collate_fn([self.dataset[i]])
    tud.Dataset, tud.DataLoader = Dataset, DataLoader
    torch.utils = types.ModuleType("torch.utils")
    torch.utils.data = tud
    shortuuid = types.ModuleType("shortuuid")
    shortuuid.uuid = lambda: "uuid"

    class Model:
        config = types.SimpleNamespace(mm_use_im_start_end=False)

        def generate(self, input_ids, **kw):
            calls[-1]["generate"] = {k: kw[k] for k in ("do_sample", "temperature", "top_p", "num_beams",
                                                        "max_new_tokens") if k in kw}
            return FakeTensor()

    class Tokenizer:
        def batch_decode(self, ids, skip_special_tokens=True):
            return [" the answer "]
    builder = types.ModuleType("llava.model.builder")
    builder.load_pretrained_model = lambda path, base, name: (Tokenizer(), Model(), None, 4096)
    model_pkg = types.ModuleType("llava.model")
    utils = types.ModuleType("llava.utils")
    utils.disable_torch_init = lambda: None
    mm = types.ModuleType("llava.mm_utils")

    def tokenizer_image_token(prompt, tokenizer, index, return_tensors=None):
        calls.append({"prompt": prompt})
        return FakeTensor()
    mm.tokenizer_image_token = tokenizer_image_token
    mm.process_images = lambda images, proc, cfg: FakeTensor()
    mm.get_model_name_from_path = lambda p: "llava-v1.5-7b"
    mm.load_image_from_base64 = lambda b: types.SimpleNamespace(size=(8, 8))
    for name, mod in (("torch", torch), ("torch.utils", torch.utils), ("torch.utils.data", tud),
                      ("shortuuid", shortuuid), ("llava.model", model_pkg), ("llava.model.builder", builder),
                      ("llava.utils", utils), ("llava.mm_utils", mm)):
        sys.modules[name] = mod


def make_prompts():
    """LLaVA-1.5's prompts and generation settings per benchmark, from LLaVA's own inference scripts run with the
    arguments of scripts/v1_5/eval/*.sh on crafted question files (the model replaced: see fake_inference_modules)."""
    import argparse as ap_
    from PIL import Image
    d = os.path.join(OUT, "prompts")
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    Image.new("RGB", (4, 3), (200, 10, 10)).save(os.path.join(d, "images", "a.png"))
    calls = []
    fake_inference_modules(calls)
    sfx = "\nAnswer the question using a single word or phrase."
    loader_q = [
        {"question_id": 1, "image": "a.png", "text": "What color is the car?" + sfx},
        {"question_id": "s2", "image": "a.png", "text": "Is there a dog in the image?" + sfx, "category": "random"},
        {"question_id": 3, "image": "a.png", "text": "what is written?\nReference OCR token: STOP, 5" + sfx},
        {"question_id": 4, "image": "a.png", "text": "Q?\nWhen the provided information is insufficient, respond "
         "with 'Unanswerable'." + sfx},
    ]
    write_jsonl(os.path.join(d, "llava_questions.jsonl"), loader_q)
    sqa_q = [
        {"id": "10", "image": "a.png", "conversations": [
            {"from": "human", "value": "<image>\nContext: A hint.\nQuestion: Which is it?\nOptions: (A) x (B) y"},
            {"from": "gpt", "value": "The answer is A."}]},
        {"id": "11", "conversations": [{"from": "human", "value": "  Question: Text only?\nOptions: (A) x (B) y\n"},
                                       {"from": "gpt", "value": "B"}]},
        {"id": "12", "image": "a.png", "conversations": [{"from": "human", "value": "Q with <image> inside?\n<image>"}]},
    ]
    write_json(os.path.join(d, "llava_test_CQM-A.json"), sqa_q)
    import pandas as pd
    pd.DataFrame([
        {"index": 0, "question": "What is it?", "hint": "A hint.", "A": "ring", "B": "box", "C": "cup", "D": None,
         "answer": "A", "category": "c", "image": "iVBO", "source": "s", "l2-category": "logic_reasoning",
         "comment": None, "split": "dev"},
        {"index": 1000000, "question": "What is it?", "hint": None, "A": "box", "B": "cup", "C": "ring", "D": None,
         "answer": "C", "category": "c", "image": "iVBO", "source": "s", "l2-category": "logic_reasoning",
         "comment": None, "split": "dev"},
        {"index": 1, "question": "Two options?", "hint": "nan", "A": "yes", "B": "no", "C": None, "D": "later",
         "answer": "B", "category": "c", "image": "iVBO", "source": "s", "l2-category": "logic_reasoning",
         "comment": None, "split": "dev"},
    ]).to_csv(os.path.join(d, "mmbench.tsv"), sep="\t", index=False)

    def run(module, bench, qfile, **extra):
        ns = dict(model_path="liuhaotian/llava-v1.5-13b", model_base=None, image_folder=os.path.join(d, "images"),
                  question_file=os.path.join(d, qfile), answers_file=os.path.join(d, "tmp", bench + ".jsonl"),
                  conv_mode="vicuna_v1", num_chunks=1, chunk_idx=0, temperature=0, top_p=None, num_beams=1)
        ns.update(extra)
        args_ = ap_.Namespace(**ns)
        mod = import_path("llava.eval." + module, os.path.join(LLAVA, "llava/eval/%s.py" % module))
        mod.args = args_  # model_vqa_loader's dataset reads the module-level args that its __main__ sets
        n0 = len(calls)
        with quiet(), contextlib.redirect_stderr(io.StringIO()):
            mod.eval_model(args_)
        answers = [json.loads(l) for l in open(args_.answers_file)]
        return [dict(c, question_id=a["question_id"], answer_prompt=a["prompt"]) for c, a in zip(calls[n0:], answers)]
    out = {
        # model_vqa_loader.py as vqav2.sh, gqa.sh, vizwiz.sh, textvqa.sh, pope.sh run it (max_new_tokens default 128)
        "loader": run("model_vqa_loader", "loader", "llava_questions.jsonl", max_new_tokens=128),
        # model_vqa_science.py as sqa.sh runs it
        "scienceqa": run("model_vqa_science", "scienceqa", "llava_test_CQM-A.json", single_pred_prompt=True,
                         answer_prompter=False),
        # model_vqa_mmbench.py as mmbench.sh runs it
        "mmbench": run("model_vqa_mmbench", "mmbench", "mmbench.tsv", single_pred_prompt=True, all_rounds=False,
                       lang="en"),
        # model_vqa.py as llavabench.sh runs it
        "llava-bench": run("model_vqa", "llava-bench", "llava_questions.jsonl"),
    }
    shutil.rmtree(os.path.join(d, "tmp"))
    write_json(os.path.join(d, "expected.json"), out)


make_vqav2()
make_vizwiz()
make_mmbench()
make_llava_bench()
make_prompts()
make_textvqa()
make_pope()
make_scienceqa()
make_gqa()
# what tests/test-golden-vqa.cpp runs: `groundlmm vqa-score` arguments per case (paths relative to this folder) and
# the files its outputs must equal
write_json(os.path.join(OUT, "cases.json"), [
    {"bench": "vqav2", "pred": "vqav2/answers.jsonl", "gt": "vqav2/v2_mscoco_val2014_annotations.json",
     "expected": "vqav2/expected.json", "expected_submission": "vqav2/expected-submission.json"},
    {"bench": "vizwiz", "pred": "vizwiz/answers.jsonl", "questions": "vizwiz/llava_test.jsonl",
     "expected": "vizwiz/expected.json", "expected_submission": "vizwiz/expected-submission.json"},
    {"bench": "textvqa", "pred": "textvqa/answers.jsonl", "gt": "textvqa/TextVQA_0.5.1_val.json",
     "expected": "textvqa/expected.json"},
    {"bench": "pope", "pred": "pope/answers.jsonl", "gt": "pope/coco", "expected": "pope/expected.json"},
    {"bench": "scienceqa", "pred": "scienceqa/answers.jsonl", "gt": "scienceqa", "expected": "scienceqa/expected.json"},
    {"bench": "gqa", "pred": "gqa/answers.jsonl", "gt": "gqa/testdev_balanced_questions.json",
     "expected": "gqa/expected.json"},
    {"bench": "mmbench", "pred": "mmbench/answers.jsonl", "gt": "mmbench/mmbench_dev_crafted.tsv",
     "expected": "mmbench/expected.json", "expected_submission": "mmbench/expected-submission.json"},
    {"bench": "prompts", "dir": "prompts", "expected": "prompts/expected.json"},
    {"bench": "llava-bench", "pred": "llava-bench/answers.jsonl", "questions": "llava-bench/questions.jsonl",
     "context": "llava-bench/context.jsonl", "rule": "llava-bench/rule.json",
     "reference": "llava-bench/answers_gpt4.jsonl", "replies": "llava-bench/replies.json",
     "expected": "llava-bench/expected.json"},
])
if args.groundlmm:
    import pandas as pd
    d = os.path.join(OUT, "mmbench")
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(tmp, "ours.xlsx")
        subprocess.run([args.groundlmm, "vqa-score", "--bench", "mmbench", "--pred", os.path.join(d, "answers.jsonl"),
                        "--gt", os.path.join(d, "mmbench_dev_crafted.tsv"), "--submission", x], check=True,
                       stdout=subprocess.DEVNULL)
        ours = pd.read_excel(x)
    exp = json.load(open(os.path.join(d, "expected-submission.json")))
    got = [list(ours.columns)] + [[None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row]
                                  for row in ours.itertuples(index=False)]
    print("MMBench .xlsx of", args.groundlmm, "reads back as the official converter's:", got == exp)
    if got != exp:
        sys.exit(1)
print("wrote", OUT)
