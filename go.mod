module github.com/runaudit/runaudit

go 1.26.8
