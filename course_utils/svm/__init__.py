"""The SVM protocol of the transfer tasks: linear solver, fast grid search, protocol, the table as text, GTZAN filtered."""
