// test-phrases: the noun-phrase chunker (src/phrases.h) on LLaVA-style descriptions, and the sentence splitter.
//
// Each description lists the chunks and head nouns that spaCy's noun_chunks (the official code's chunker) gives for
// it: determiners, possessives, numbers, adjectives and compounds before the head; no PPs or relative clauses after
// it; pronouns are chunks ("it", "he", "who"); "there" is not; "in front of" gives "front". These were written by
// hand from spaCy's noun_chunks rules, not produced by running spaCy.
//
// Two tiers, both always run and reported:
//  - core: every description must give exactly the listed phrases and heads, in order (list-item fragments that
//    link-grammar cannot parse may go through the fallback; at most 1 sentence in 10 may);
//  - hard: sentences where link-grammar's best linkage is known to be fragile (coordinated adjectives, quotations,
//    long relative clauses); phrase-level precision and recall over the tier must each be >= k_hard_threshold.
// The fallback chunker is measured on the core set too (precision/recall printed; it must stay >= 0.75 on both), and
// every object named in 200 held-out toy-world captions must be a chunk of its own (toy_world_captions).
#include "common.h"
#include "phrases.h"
#include "toy/world.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace {

struct expected_phrase {
    std::string text;
    std::string head;
};

struct description {
    std::string                  text;
    std::vector<expected_phrase> phrases;
};

const std::vector<description> k_core = {
    { "The image shows a red double-decker bus parked next to a tall building on a busy city street.",
      { { "The image", "image" }, { "a red double-decker bus", "bus" }, { "a tall building", "building" },
        { "a busy city street", "street" } } },
    { "A man wearing a blue shirt and jeans is riding a bicycle down the road.",
      { { "A man", "man" }, { "a blue shirt", "shirt" }, { "jeans", "jeans" }, { "a bicycle", "bicycle" },
        { "the road", "road" } } },
    { "Two dogs are playing with a frisbee in a grassy park.",
      { { "Two dogs", "dogs" }, { "a frisbee", "frisbee" }, { "a grassy park", "park" } } },
    { "There are several people standing in front of the building.",
      { { "several people", "people" }, { "front", "front" }, { "the building", "building" } } },
    { "A woman is sitting on a wooden bench, reading a book.",
      { { "A woman", "woman" }, { "a wooden bench", "bench" }, { "a book", "book" } } },
    { "A cat is lying on the bed next to a pile of pillows.",
      { { "A cat", "cat" }, { "the bed", "bed" }, { "a pile", "pile" }, { "pillows", "pillows" } } },
    { "The sky is blue with a few white clouds.",
      { { "The sky", "sky" }, { "a few white clouds", "clouds" } } },
    { "In the background, there is a large mountain covered with snow.",
      { { "the background", "background" }, { "a large mountain", "mountain" }, { "snow", "snow" } } },
    { "A little girl is holding an umbrella while walking in the rain.",
      { { "A little girl", "girl" }, { "an umbrella", "umbrella" }, { "the rain", "rain" } } },
    { "The table is set with plates, glasses, and a vase of flowers.",
      { { "The table", "table" }, { "plates", "plates" }, { "glasses", "glasses" }, { "a vase", "vase" },
        { "flowers", "flowers" } } },
    { "A group of people are gathered around a dining table, enjoying a meal together.",
      { { "A group", "group" }, { "people", "people" }, { "a dining table", "table" }, { "a meal", "meal" } } },
    { "The man's shirt is red, and he is wearing a black hat.",
      { { "The man's shirt", "shirt" }, { "he", "he" }, { "a black hat", "hat" } } },
    { "A baseball player is swinging his bat at the ball during the game.",
      { { "A baseball player", "player" }, { "his bat", "bat" }, { "the ball", "ball" },
        { "the game", "game" } } },
    { "The train is traveling along the tracks through a rural area.",
      { { "The train", "train" }, { "the tracks", "tracks" }, { "a rural area", "area" } } },
    { "A brown horse is grazing in a field near a wooden fence.",
      { { "A brown horse", "horse" }, { "a field", "field" }, { "a wooden fence", "fence" } } },
    { "Several cars are parked along the side of the street.",
      { { "Several cars", "cars" }, { "the side", "side" }, { "the street", "street" } } },
    { "The living room has a comfortable couch and a television mounted on the wall.",
      { { "The living room", "room" }, { "a comfortable couch", "couch" }, { "a television", "television" },
        { "the wall", "wall" } } },
    { "A young boy in a yellow jacket is flying a kite on the beach.",
      { { "A young boy", "boy" }, { "a yellow jacket", "jacket" }, { "a kite", "kite" },
        { "the beach", "beach" } } },
    { "The plate contains a sandwich, some french fries, and a pickle.",
      { { "The plate", "plate" }, { "a sandwich", "sandwich" }, { "some french fries", "fries" },
        { "a pickle", "pickle" } } },
    { "It is a sunny day, and the street is busy with pedestrians.",
      { { "It", "It" }, { "a sunny day", "day" }, { "the street", "street" }, { "pedestrians", "pedestrians" } } },
    { "An elephant is walking through the tall grass with its baby.",
      { { "An elephant", "elephant" }, { "the tall grass", "grass" }, { "its baby", "baby" } } },
    { "The woman is talking on her cell phone as she walks down the sidewalk.",
      { { "The woman", "woman" }, { "her cell phone", "phone" }, { "she", "she" },
        { "the sidewalk", "sidewalk" } } },
    { "A laptop computer sits on a desk next to a cup of coffee.",
      { { "A laptop computer", "computer" }, { "a desk", "desk" }, { "a cup", "cup" }, { "coffee", "coffee" } } },
    { "Two zebras are standing near a tree in the savanna.",
      { { "Two zebras", "zebras" }, { "a tree", "tree" }, { "the savanna", "savanna" } } },
    { "A pizza with pepperoni and cheese is on a wooden cutting board.",
      { { "A pizza", "pizza" }, { "pepperoni", "pepperoni" }, { "cheese", "cheese" },
        { "a wooden cutting board", "board" } } },
    { "The bathroom has a white toilet, a sink, and a mirror on the wall.",
      { { "The bathroom", "bathroom" }, { "a white toilet", "toilet" }, { "a sink", "sink" },
        { "a mirror", "mirror" }, { "the wall", "wall" } } },
    { "A skateboarder is performing a trick on a ramp at the skate park.",
      { { "A skateboarder", "skateboarder" }, { "a trick", "trick" }, { "a ramp", "ramp" },
        { "the skate park", "park" } } },
    { "The giraffe is eating leaves from the top of a tree.",
      { { "The giraffe", "giraffe" }, { "leaves", "leaves" }, { "the top", "top" }, { "a tree", "tree" } } },
    { "The image depicts a busy airport. Several airplanes are parked on the tarmac, and a few people are walking "
      "nearby.",
      { { "The image", "image" }, { "a busy airport", "airport" }, { "Several airplanes", "airplanes" },
        { "the tarmac", "tarmac" }, { "a few people", "people" } } },
    { "The scene includes:\n1. A red car parked on the left.\n2. A man walking his dog.",
      { { "The scene", "scene" }, { "A red car", "car" }, { "the left", "left" }, { "A man", "man" },
        { "his dog", "dog" } } },
    { "There are 3 birds sitting on a power line.", { { "3 birds", "birds" }, { "a power line", "line" } } },
    { "A man who is wearing a helmet rides a motorcycle.",
      { { "A man", "man" }, { "who", "who" }, { "a helmet", "helmet" }, { "a motorcycle", "motorcycle" } } },

    // comma lists, appositions and fragments of noun phrases, in toy-world captions (lower case, as the toy model
    // writes them) and in LMM answers; link-grammar's cheapest linkage reads many of these nouns as adjectives or
    // verbs ("square.a", "star.v") or joins two phrases into one
    { "a small green circle is to the left of a small purple square, a big red diamond.",
      { { "a small green circle", "circle" }, { "the left", "left" }, { "a small purple square", "square" },
        { "a big red diamond", "diamond" } } },
    { "a small orange diamond, a green circle, a purple diamond and a white star.",
      { { "a small orange diamond", "diamond" }, { "a green circle", "circle" }, { "a purple diamond", "diamond" },
        { "a white star", "star" } } },
    { "there is an orange square.", { { "an orange square", "square" } } },
    { "there is a white square and a big red circle.",
      { { "a white square", "square" }, { "a big red circle", "circle" } } },
    { "a small red cross and a small white ring.", { { "a small red cross", "cross" }, { "a small white ring", "ring" } } },
    { "there is a small white square to the right of a small green cross.",
      { { "a small white square", "square" }, { "the right", "right" }, { "a small green cross", "cross" } } },
    { "on the right a small purple square and a small orange triangle is on the right and there is a white triangle.",
      { { "the right", "right" }, { "a small purple square", "square" }, { "a small orange triangle", "triangle" },
        { "the right", "right" }, { "a white triangle", "triangle" } } },
    { "there is a big blue ring and on the right a small blue cross and a large green square above a big green ring.",
      { { "a big blue ring", "ring" }, { "the right", "right" }, { "a small blue cross", "cross" },
        { "a large green square", "square" }, { "a big green ring", "ring" } } },
    { "a big yellow diamond is to the left of a large white star and there is a green cross above a big purple square.",
      { { "a big yellow diamond", "diamond" }, { "the left", "left" }, { "a large white star", "star" },
        { "a green cross", "cross" }, { "a big purple square", "square" } } },
    { "there is a small white square below a white star and at the top a big blue square and a red triangle on the "
      "right.",
      { { "a small white square", "square" }, { "a white star", "star" }, { "the top", "top" },
        { "a big blue square", "square" }, { "a red triangle", "triangle" }, { "the right", "right" } } },
    { "The image shows a table with a cup, a plate, a fork and a knife.",
      { { "The image", "image" }, { "a table", "table" }, { "a cup", "cup" }, { "a plate", "plate" },
        { "a fork", "fork" }, { "a knife", "knife" } } },
    { "Objects: a red car, a tree, two people.",
      { { "Objects", "Objects" }, { "a red car", "car" }, { "a tree", "tree" }, { "two people", "people" } } },
    { "Items on the shelf: a vase, two candles, a clock.",
      { { "Items", "Items" }, { "the shelf", "shelf" }, { "a vase", "vase" }, { "two candles", "candles" },
        { "a clock", "clock" } } },
    { "A man, a dog, a red ball.", { { "A man", "man" }, { "a dog", "dog" }, { "a red ball", "ball" } } },
    { "In the scene, there are three dogs, a cat, and a parrot.",
      { { "the scene", "scene" }, { "three dogs", "dogs" }, { "a cat", "cat" }, { "a parrot", "parrot" } } },
    { "There is a red apple, a green pear and a yellow banana on the table.",
      { { "a red apple", "apple" }, { "a green pear", "pear" }, { "a yellow banana", "banana" },
        { "the table", "table" } } },
    { "The photo shows a street scene: a bus, a taxi, and several pedestrians.",
      { { "The photo", "photo" }, { "a street scene", "scene" }, { "a bus", "bus" }, { "a taxi", "taxi" },
        { "several pedestrians", "pedestrians" } } },
    { "The picture shows a white plate, a silver fork, a glass of water.",
      { { "The picture", "picture" }, { "a white plate", "plate" }, { "a silver fork", "fork" },
        { "a glass", "glass" }, { "water", "water" } } },
    { "The scene includes a park bench, a lamp post and a trash can.",
      { { "The scene", "scene" }, { "a park bench", "bench" }, { "a lamp post", "post" },
        { "a trash can", "can" } } },
    { "The logo features a red star and a blue ring.",
      { { "The logo", "logo" }, { "a red star", "star" }, { "a blue ring", "ring" } } },
    { "The cake is decorated with a star, a heart and a ring of candles.",
      { { "The cake", "cake" }, { "a star", "star" }, { "a heart", "heart" }, { "a ring", "ring" },
        { "candles", "candles" } } },
    { "The image contains a square table, a round mirror and a star-shaped lamp.",
      { { "The image", "image" }, { "a square table", "table" }, { "a round mirror", "mirror" },
        { "a star-shaped lamp", "lamp" } } },
    { "There are two cups, a teapot, and a small vase with a white flower.",
      { { "two cups", "cups" }, { "a teapot", "teapot" }, { "a small vase", "vase" },
        { "a white flower", "flower" } } },
    { "A bowl of fruit, including apples, bananas, and oranges.",
      { { "A bowl", "bowl" }, { "fruit", "fruit" }, { "apples", "apples" }, { "bananas", "bananas" },
        { "oranges", "oranges" } } },
    // the other way round: a colour noun before a verb that could be a plural noun stays a phrase of its own
    { "The orange stands out against the blue background.",
      { { "The orange", "orange" }, { "the blue background", "background" } } },
    { "The traffic light is red, and cars are waiting at the intersection.",
      { { "The traffic light", "light" }, { "cars", "cars" }, { "the intersection", "intersection" } } },
};

const double                   k_hard_threshold = 0.8;
const std::vector<description> k_hard           = {
    // link-grammar's cheapest linkage reads "kitchen features" as a compound (with "white" as a verb) and "square"
    // as a predicate adjective; the chunker picks a near-cheapest linkage that fits the surface better (phrases.h)
    { "The kitchen features white cabinets, a stainless steel refrigerator, and a large window above the sink.",
      { { "The kitchen", "kitchen" }, { "white cabinets", "cabinets" },
        { "a stainless steel refrigerator", "refrigerator" }, { "a large window", "window" },
        { "the sink", "sink" } } },
    { "A clock tower stands tall in the center of the town square.",
      { { "A clock tower", "tower" }, { "the center", "center" }, { "the town square", "square" } } },
    { "A black and white cat sleeps on the couch.", { { "A black and white cat", "cat" }, { "the couch", "couch" } } },
    { "The photo captures a lively moment at the beach, where children are building sandcastles.",
      { { "The photo", "photo" }, { "a lively moment", "moment" }, { "the beach", "beach" },
        { "children", "children" }, { "sandcastles", "sandcastles" } } },
    { "The bus, which is painted in bright colors, is driving past a row of shops.",
      { { "The bus", "bus" }, { "which", "which" }, { "bright colors", "colors" }, { "a row", "row" },
        { "shops", "shops" } } },
    { "A sign on the pole says \"No Parking\" in big letters.",
      { { "A sign", "sign" }, { "the pole", "pole" }, { "\"No Parking", "Parking" },
        { "big letters", "letters" } } },
    { "Overall, the scene conveys a sense of calm and relaxation.",
      { { "the scene", "scene" }, { "a sense", "sense" }, { "calm", "calm" }, { "relaxation", "relaxation" } } },
};

struct score {
    int n_expected = 0, n_found = 0, n_match = 0;
    double precision() const { return n_found ? (double) n_match / n_found : 1.0; }
    double recall() const { return n_expected ? (double) n_match / n_expected : 1.0; }
};

// Scores one description; returns whether the list matches exactly (texts, heads, order, consistent spans).
bool run_one(const glm::phrase_chunker & ch, const description & d, score & sc, bool print_diff) {
    const glm::phrase_result r = ch.chunk(d.text);
    // a found phrase matches an expected one with the same text and head (each expected one used once)
    std::vector<bool> used(d.phrases.size(), false);
    int               matched = 0;
    for (const auto & p : r.phrases) {
        EXPECT_EQ(p.text, d.text.substr(p.span.begin, p.span.end - p.span.begin));
        EXPECT_EQ(p.head_text, d.text.substr(p.head.begin, p.head.end - p.head.begin));
        EXPECT_TRUE(p.head.begin >= p.span.begin && p.head.end == p.span.end) << p.text;
        for (size_t i = 0; i < d.phrases.size(); ++i) {
            if (!used[i] && d.phrases[i].text == p.text && d.phrases[i].head == p.head_text) {
                used[i] = true;
                ++matched;
                break;
            }
        }
    }
    sc.n_expected += (int) d.phrases.size();
    sc.n_found += (int) r.phrases.size();
    sc.n_match += matched;
    bool exact = r.phrases.size() == d.phrases.size();
    for (size_t i = 0; exact && i < d.phrases.size(); ++i) {
        exact = r.phrases[i].text == d.phrases[i].text && r.phrases[i].head_text == d.phrases[i].head;
    }
    if (!exact && print_diff) {
        std::string got, want;
        for (const auto & p : r.phrases) {
            got += "[" + p.text + "|" + p.head_text + (p.fallback ? "|F" : "") + "] ";
        }
        for (const auto & p : d.phrases) {
            want += "[" + p.text + "|" + p.head + "] ";
        }
        printf("  mismatch: %s\n    got  %s\n    want %s\n", d.text.c_str(), got.c_str(), want.c_str());
    }
    return exact;
}

const glm::phrase_chunker & parser_chunker() {
    static glm::phrase_chunker ch;
    return ch;
}

}  // namespace

TEST(phrases, core_set_exact) {
    const auto & ch      = parser_chunker();
    score        sc;
    int          n_exact = 0, n_sent = 0, n_fallback = 0;
    for (const auto & d : k_core) {
        const glm::phrase_result r = ch.chunk(d.text);
        n_sent += (int) r.sentences.size();
        n_fallback += r.n_fallback;
        const bool exact = run_one(ch, d, sc, true);
        EXPECT_TRUE(exact) << d.text;
        n_exact += exact;
    }
    printf("core set: %zu descriptions, %d exact; phrases: %d expected, %d found, %d matched; precision %.3f "
           "recall %.3f; %d of %d sentences by the fallback\n",
           k_core.size(), n_exact, sc.n_expected, sc.n_found, sc.n_match, sc.precision(), sc.recall(), n_fallback,
           n_sent);
    EXPECT_LE(n_fallback * 10, n_sent) << "the parser should handle almost every sentence of the core set";
    EXPECT_GE(k_core.size(), 25u);
}

TEST(phrases, hard_tier) {
    const auto & ch = parser_chunker();
    score        sc;
    int          n_exact = 0;
    for (const auto & d : k_hard) {
        n_exact += run_one(ch, d, sc, true);
    }
    printf("hard tier: %zu descriptions, %d exact; phrases: %d expected, %d found, %d matched; precision %.3f "
           "recall %.3f (threshold %.2f)\n",
           k_hard.size(), n_exact, sc.n_expected, sc.n_found, sc.n_match, sc.precision(), sc.recall(),
           k_hard_threshold);
    EXPECT_GE(sc.precision(), k_hard_threshold);
    EXPECT_GE(sc.recall(), k_hard_threshold);
}

TEST(phrases, fallback_chunker_quality) {
    glm::phrase_params p;
    p.use_parser = false;
    glm::phrase_chunker ch(p);
    score               sc;
    int                 n_exact = 0;
    for (const auto & d : k_core) {
        const glm::phrase_result r = ch.chunk(d.text);
        for (const auto & ph : r.phrases) {
            EXPECT_TRUE(ph.fallback);
        }
        EXPECT_EQ(r.n_fallback, (int) r.sentences.size());
        n_exact += run_one(ch, d, sc, false);
    }
    printf("fallback chunker on the core set: %d/%zu exact; precision %.3f recall %.3f\n", n_exact, k_core.size(),
           sc.precision(), sc.recall());
    EXPECT_GE(sc.precision(), 0.75);
    EXPECT_GE(sc.recall(), 0.75);
}

// Every object a toy-world caption names ("a small purple square", in lists, appositions and fragments) is a chunk
// of its own: the article plus the caption's phrase, headed by the shape word. Held-out scenes (test split, world
// seed 1, the toy experiment's scenes); the chunker knows nothing of the toy world.
TEST(phrases, toy_world_captions) {
    const auto &     ch = parser_chunker();
    int              n_objects = 0, n_exact = 0, n_head = 0;
    const int        n_scenes  = 200;
    for (int s = 0; s < n_scenes; ++s) {
        const glm::toy::world_scene sc = glm::toy::world_generate(glm::toy::world_params(), 1,
                                                                  glm::toy::world_split::test, s);
        const glm::phrase_result    r  = ch.chunk(sc.caption);
        for (const auto & o : sc.objects) {
            ++n_objects;
            const std::string phrase = sc.caption.substr(o.phrase_begin, o.phrase_end - o.phrase_begin);
            const glm::noun_phrase * found = nullptr;
            for (const auto & p : r.phrases) {
                if (p.head.begin == o.shape_begin && p.head.end == o.shape_end) {
                    found = &p;
                }
            }
            n_head += found != nullptr;
            const bool exact = found && (found->text == "a " + phrase || found->text == "an " + phrase);
            n_exact += exact;
            EXPECT_TRUE(exact) << "\"" << phrase << "\" in: " << sc.caption
                               << (found ? " (got \"" + found->text + "\")" : std::string(" (no phrase)"));
        }
    }
    printf("toy-world captions: %d scenes, %d objects: %d with a phrase headed by the shape word, %d exact\n",
           n_scenes, n_objects, n_head, n_exact);
}

// LLMs write typographic apostrophes too: "cat’s toy" and "doesn’t" chunk as "cat's toy" and "doesn't" do, with the
// parser and with the fallback rules, and the spans point at the original bytes.
TEST(phrases, typographic_apostrophes) {
    glm::phrase_params fb;
    fb.use_parser = false;
    const glm::phrase_chunker fallback(fb);
    for (const glm::phrase_chunker * ch : { &parser_chunker(), &fallback }) {
        for (const char * ascii : { "The cat's toy is on the small mat.", "The dog doesn't see the small ball.",
                                    "The woman's bag is next to the children's bikes." }) {
            std::string curly = ascii;
            for (size_t k; (k = curly.find('\'')) != std::string::npos;) {
                curly.replace(k, 1, "\xE2\x80\x99");
            }
            const glm::phrase_result a = ch->chunk(ascii), c = ch->chunk(curly);
            ASSERT_EQ(a.phrases.size(), c.phrases.size()) << curly;
            for (size_t k = 0; k < a.phrases.size(); ++k) {
                std::string want = a.phrases[k].text;
                for (size_t j; (j = want.find('\'')) != std::string::npos;) {
                    want.replace(j, 1, "\xE2\x80\x99");
                }
                EXPECT_EQ(c.phrases[k].text, want) << curly;
                EXPECT_EQ(c.phrases[k].head_text, a.phrases[k].head_text) << curly;
                EXPECT_EQ(curly.substr(c.phrases[k].span.begin, c.phrases[k].span.end - c.phrases[k].span.begin),
                          want);
            }
        }
        const glm::phrase_result r = ch->chunk("The man\xE2\x80\x99s shirt is red.");
        ASSERT_FALSE(r.phrases.empty());
        EXPECT_EQ(r.phrases[0].head_text, "shirt");
    }
}

TEST(phrases, long_sentence_falls_back_and_says_so) {
    glm::phrase_params p;
    p.max_sentence_words = 8;
    glm::phrase_chunker      ch(p);
    const std::string        text = "A dog sleeps. A brown dog is sleeping on a soft red carpet next to the fireplace.";
    const glm::phrase_result r    = ch.chunk(text);
    ASSERT_EQ(r.sentences.size(), 2u);
    EXPECT_FALSE(r.sentences[0].fallback);
    EXPECT_TRUE(r.sentences[1].fallback);
    EXPECT_NE(r.sentences[1].reason.find("too long"), std::string::npos);
    EXPECT_EQ(r.n_fallback, 1);
    std::vector<std::string> got;
    for (const auto & ph : r.phrases) {
        got.push_back(ph.text);
        EXPECT_EQ(ph.fallback, ph.sentence == 1);
    }
    EXPECT_EQ(got, (std::vector<std::string>{ "A dog", "A brown dog", "a soft red carpet", "the fireplace" }));
}

TEST(phrases, robust_inputs) {
    const auto & ch = parser_chunker();
    for (const std::string text :
         { std::string(), std::string("   \n\n  "), std::string("..."), std::string("1. 2. 3."),
           std::string("\xff\xfe broken utf8 \xc3"), std::string("Yes."), std::string("42"),
           std::string("The \"red\" car's owner -- a tall man -- waves; the kids (three of them) laugh!!"),
           std::string("**Objects:** a cat, a dog, and a bird.\n- The cat is black.\n- The dog is brown.") }) {
        const glm::phrase_result r = ch.chunk(text);
        for (const auto & ph : r.phrases) {
            ASSERT_LE(ph.span.end, (int) text.size());
            ASSERT_LE(ph.span.begin, ph.head.begin);
            ASSERT_EQ(ph.head.end, ph.span.end);
        }
        for (size_t i = 1; i < r.phrases.size(); ++i) {
            ASSERT_LE(r.phrases[i - 1].span.end, r.phrases[i].span.begin) << "phrases overlap in: " << text;
        }
    }
    EXPECT_TRUE(ch.chunk("").phrases.empty());
    EXPECT_TRUE(ch.chunk("Yes, absolutely.").phrases.empty());
}

TEST(phrases, long_answer) {
    // a long LMM answer: many sentences, numbers, hyphens, quotes, a list; every sentence is chunked, none lost
    std::string text;
    for (int i = 0; i < 40; ++i) {
        text += "The " + std::to_string(i + 2) + " small boats are floating near a wooden pier. ";
    }
    text += "\n\nKey elements:\n- a lighthouse\n- two seagulls\n";
    const auto &             ch = parser_chunker();
    const glm::phrase_result r  = ch.chunk(text);
    EXPECT_EQ(r.sentences.size(), 43u);  // 40 + "Key elements:" + 2 list items
    EXPECT_EQ(r.phrases.size(), 83u);    // 2 per boat sentence + "Key elements" + 2
    EXPECT_EQ(r.phrases.back().text, "two seagulls");
}

TEST(sentences, split) {
    auto texts = [](const std::string & t) {
        std::vector<std::string> v;
        for (const auto & s : glm::split_sentences(t)) {
            v.push_back(t.substr(s.begin, s.end - s.begin));
        }
        return v;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(texts("A dog runs. A cat sleeps!  Is it raining? Yes."),
              (V{ "A dog runs.", "A cat sleeps!", "Is it raining?", "Yes." }));
    EXPECT_EQ(texts("Mr. Smith holds a 3.5 m pole, e.g. for fishing. Then he leaves."),
              (V{ "Mr. Smith holds a 3.5 m pole, e.g. for fishing.", "Then he leaves." }));
    EXPECT_EQ(texts("Items:\n1. A red car.\n2. A blue bus\n- a tree\n* a bench"),
              (V{ "Items:", "A red car.", "A blue bus", "a tree", "a bench" }));
    EXPECT_EQ(texts("He said \"Stop.\" Then the car stopped."), (V{ "He said \"Stop.\"", "Then the car stopped." }));
    EXPECT_EQ(texts("First part; second part"), (V{ "First part", "second part" }));
    EXPECT_TRUE(texts("").empty());
    EXPECT_TRUE(texts(" ... \n ").empty());
}

// Quiet logs: a fallback-chunked sentence is one debug-level line (invisible at the default level), and counted.
namespace {
struct captured_log {
    std::vector<std::pair<glm::log_level, std::string>> lines;
    static void sink(glm::log_level level, const char * text, void * user_data) {
        ((captured_log *) user_data)->lines.push_back({ level, text });
    }
};
}  // namespace

TEST(phrases, fallback_sentence_logged_once_at_debug_level) {
    glm::phrase_params p;
    p.max_sentence_words = 8;
    glm::phrase_chunker     ch(p);
    const std::string       text = "A dog sleeps. A brown dog is sleeping on a soft red carpet next to the fireplace.";
    const glm::log_level    old  = glm::log_get_level();
    captured_log            cap;
    glm::log_set(captured_log::sink, &cap);
    glm::log_set_level(glm::log_level::info);
    const glm::phrase_result r = ch.chunk(text);
    glm::log_set_level(glm::log_level::debug);
    ch.chunk(text);
    glm::log_set(nullptr, nullptr);
    glm::log_set_level(old);
    EXPECT_EQ(r.n_fallback, 1);
    int n_fallback_lines = 0;
    for (const auto & l : cap.lines) {
        if (l.second.find("fallback rules") != std::string::npos) {
            ++n_fallback_lines;
            EXPECT_EQ(l.first, glm::log_level::debug) << l.second;
        }
    }
    EXPECT_EQ(n_fallback_lines, 1);  // the info-level run logged nothing, the debug-level run one line
}
