"""The candidate's scripted answers: plain ones for latency, hesitant ones for load.

Every answer is longer than nine words, so none can be taken for a voice command, and
ends on a finished sentence, so the short endpointing silence applies at its end.
"""

from __future__ import annotations

from bench.voice_client import Answer, Pause, Speech

#: One to three sentences about ML, spoken straight through.
PLAIN: tuple[Answer, ...] = tuple(Answer.plain(label, text) for label, text in (
    ("bias", "Bias is the error of a model that is too simple, so it underfits the data."),
    ("l1-l2", "Regularization adds a penalty on the weights to the loss. L1 gives sparse "
              "weights, and L2 shrinks all of them smoothly."),
    ("imbalance", "With imbalanced data I would not trust accuracy. I would look at precision, "
                  "recall and the area under the precision recall curve."),
    ("bagging", "Bagging trains many models in parallel on bootstrap samples and averages "
                "them, which mostly reduces variance. Boosting trains models one after "
                "another, each one fixing the errors of the last."),
    ("backprop", "Backpropagation applies the chain rule from the loss back to every weight, "
                 "so one backward pass gives all the gradients."),
    ("relu", "ReLU is cheap to compute and does not saturate for positive inputs, which "
             "helps the gradients flow in deep networks."),
    ("attention", "Attention lets every token look at every other token and weigh them by "
                  "relevance. A transformer stacks many of these layers with feed forward "
                  "blocks in between."),
    ("recsys", "For a recommender I would generate candidates from embeddings first, then "
               "rank them with a model trained on clicks and watch time."),
    ("fraud", "In fraud detection the labels arrive late and the classes are very "
              "imbalanced, so I would measure precision at a fixed alert budget."),
    ("logreg", "Logistic regression passes a weighted sum through a sigmoid. It is trained "
               "by minimising the log loss with gradient descent."),
    ("dropout", "Dropout switches off random units during training, so the network cannot "
                "rely on any single feature and generalizes better."),
    ("early-stop", "Early stopping watches the validation loss and stops training when it "
                   "starts to rise. It is a cheap form of regularization."),
))


def hesitant(pause_s: float = 2.5) -> tuple[Answer, ...]:
    """Answers with fillers and a deliberate mid-answer thinking pause of `pause_s`.

    The pause always follows an unfinished clause ("and the second reason is"), which
    a good endpointer waits through; any final transcript or reply that arrives inside
    it is a false cut-in.
    """
    return (
        Answer("two-reasons", (
            Speech("Um, so there are two main reasons for that."), Pause(0.4),
            Speech("The first reason is that the model memorises noise in the training data,"),
            Pause(0.3), Speech("and the second reason is"), Pause(pause_s),
            Speech("that the validation set is too small to catch it."),
        )),
        Answer("baseline", (
            Speech("Okay. Um, I would start with a simple baseline, like logistic regression."),
            Pause(0.4), Speech("Then I would look at the errors it makes, and, um,"),
            Pause(pause_s), Speech("add features for the cases it gets wrong."),
        )),
        Answer("attention", (
            Speech("Well, the key idea is attention."), Pause(0.4),
            Speech("Each token takes a weighted average of the other tokens, and the weights "
                   "come from"), Pause(pause_s),
            Speech("the dot product of the queries and the keys, passed through a softmax."),
        )),
        Answer("metrics", (
            Speech("Um, for imbalanced data I would first fix the metric."), Pause(0.3),
            Speech("Accuracy is misleading here, so I would use precision and recall, because"),
            Pause(pause_s), Speech("the minority class is the one we actually care about."),
        )),
    )
